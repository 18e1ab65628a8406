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

#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
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
        Ok(Sealer { cipher })
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
