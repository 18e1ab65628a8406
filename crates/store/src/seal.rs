//! Encryption at rest for secret run inputs (XChaCha20-Poly1305).
//!
//! The key is base64 of 32 bytes, given as is (the CLI reads `SEGUE_SECRET_KEY`)
//! or kept in a key file created on first start with mode 0600. Every process
//! that executes runs (server with embedded workers, `segue worker`) needs the same key.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::ids::random_bytes;
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};

#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
    /// Signs links (derived from the key: a signature never reveals it).
    signing: [u8; 32],
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the secret key must be base64 of 32 bytes")]
    BadKey,
    #[error("cannot read or create the key file {path}: {source}")]
    KeyFile { path: String, source: std::io::Error },
    #[error("no secret key: set SEGUE_SECRET_KEY to the server's key (its data folder's secret.key), or put it at {0}")]
    NoKey(String),
    #[error("sealed data is corrupt or was sealed with another key")]
    Open,
}

impl Sealer {
    pub fn from_base64(key: &str) -> Result<Sealer, SealError> {
        let bytes = STANDARD.decode(key.trim()).map_err(|_| SealError::BadKey)?;
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| SealError::BadKey)?;
        let mut derive = Sha256::new();
        derive.update(b"segue link signing key\0");
        derive.update(&bytes);
        Ok(Sealer { cipher, signing: derive.finalize().into() })
    }

    /// The key file at `path`, created if missing and `create` is set (a
    /// server's first start; a worker joining a server must use the server's key instead).
    pub fn from_file(path: &Path, create: bool) -> Result<Sealer, SealError> {
        let io = |source| SealError::KeyFile { path: path.display().to_string(), source };
        if !path.exists() {
            if !create {
                return Err(SealError::NoKey(path.display().to_string()));
            }
            let key = STANDARD.encode(random_bytes::<32>());
            write_private(path, &key).map_err(io)?;
        }
        Sealer::from_base64(&std::fs::read_to_string(path).map_err(io)?)
    }

    /// HMAC-SHA256 of `message` with the key's signing key, as hex.
    pub fn sign(&self, message: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.signing).expect("any key length");
        mac.update(message.as_bytes());
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `signature` (hex) is `message`'s, compared in constant time.
    pub fn verify(&self, message: &str, signature: &str) -> bool {
        let Some(bytes) = unhex(signature) else { return false };
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.signing).expect("any key length");
        mac.update(message.as_bytes());
        mac.verify_slice(&bytes).is_ok()
    }

    pub fn seal(&self, plain: &str) -> String {
        let nonce = random_bytes::<24>();
        let sealed = self.cipher.encrypt(&XNonce::from(nonce), plain.as_bytes()).expect("encryption cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        STANDARD.encode(out)
    }

    pub fn open(&self, sealed: &str) -> Result<String, SealError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| SealError::Open)?;
        if bytes.len() < 24 {
            return Err(SealError::Open);
        }
        let (nonce, data) = bytes.split_at(24);
        let nonce = XNonce::try_from(nonce).map_err(|_| SealError::Open)?;
        let plain = self.cipher.decrypt(&nonce, data).map_err(|_| SealError::Open)?;
        String::from_utf8(plain).map_err(|_| SealError::Open)
    }
}

/// Writes a file only its owner can read (mode 0600 from creation, never wider).
pub fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(content.as_bytes())
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 128 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_keys() {
        let a = Sealer::from_base64(&STANDARD.encode([7u8; 32])).unwrap();
        let b = Sealer::from_base64(&STANDARD.encode([8u8; 32])).unwrap();
        let sealed = a.seal("{\"password\":\"hunter2\"}");
        assert!(!sealed.contains("hunter2"));
        assert_ne!(sealed, a.seal("{\"password\":\"hunter2\"}"), "nonces differ");
        assert_eq!(a.open(&sealed).unwrap(), "{\"password\":\"hunter2\"}");
        assert!(b.open(&sealed).is_err());
        assert!(Sealer::from_base64("short").is_err());
    }

    #[test]
    fn signatures_verify_only_for_their_message_and_key() {
        let a = Sealer::from_base64(&STANDARD.encode([7u8; 32])).unwrap();
        let b = Sealer::from_base64(&STANDARD.encode([8u8; 32])).unwrap();
        let signature = a.sign("art_1.1700000000");
        assert!(a.verify("art_1.1700000000", &signature));
        assert!(!a.verify("art_2.1700000000", &signature), "another artifact");
        assert!(!a.verify("art_1.1800000000", &signature), "another expiry");
        assert!(!b.verify("art_1.1700000000", &signature), "another key");
        assert!(!a.verify("art_1.1700000000", "zz"), "not hex");
        assert!(!signature.contains(&STANDARD.encode([7u8; 32])));
    }

    #[test]
    fn creates_a_private_key_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        assert!(matches!(Sealer::from_file(&path, false), Err(SealError::NoKey(_))));
        let first = Sealer::from_file(&path, true).unwrap();
        let second = Sealer::from_file(&path, false).unwrap();
        assert_eq!(second.open(&first.seal("x")).unwrap(), "x");
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
