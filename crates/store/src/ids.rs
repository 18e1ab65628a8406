use sha2::{Digest, Sha256};

/// A random identifier with a readable prefix, e.g. `run_3f9c…`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", random_hex(12))
}

/// A new API key in clear. Only its hash is stored.
pub fn new_api_key() -> String {
    format!("sk_{}", random_hex(24))
}

/// A new webhook signing secret in clear, as Standard Webhooks writes one:
/// `whsec_` and the base64 of 32 random bytes (the HMAC key).
pub fn new_webhook_secret() -> String {
    use base64::Engine as _;
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(random_bytes::<32>()))
}

pub fn hash_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random source");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
