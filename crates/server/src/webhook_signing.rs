//! Standard Webhooks signatures: `v1,` and the base64 HMAC-SHA256 of
//! `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the secret's bytes (the
//! base64 after `whsec_`). One signature per live secret, space separated, so a
//! receiver holding either the new or the previous secret accepts a delivery
//! during a rotation's overlap.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The secret's HMAC key, or `None` when it is not `whsec_` and base64.
fn key(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix("whsec_")?).ok().filter(|k| !k.is_empty())
}

/// The `webhook-signature` header for a delivery signed with every one of `secrets`.
pub(crate) fn signature(secrets: &[String], id: &str, timestamp: i64, body: &str) -> Option<String> {
    let signed: Vec<String> = secrets
        .iter()
        .map(|secret| {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)?).ok()?;
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(body.as_bytes());
            Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
        })
        .collect::<Option<_>>()?;
    (!signed.is_empty()).then(|| signed.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification.
    #[test]
    fn signs_like_the_specification() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned();
        let signed = signature(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#);
        assert_eq!(signed.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }

    #[test]
    fn every_live_secret_signs() {
        let (a, b) = (store::new_webhook_secret(), store::new_webhook_secret());
        let both = signature(&[a.clone(), b.clone()], "msg_1", 1, "{}").unwrap();
        let alone = |s: &String| signature(std::slice::from_ref(s), "msg_1", 1, "{}").unwrap();
        assert_eq!(both, format!("{} {}", alone(&a), alone(&b)));
        assert_ne!(alone(&a), alone(&b));
        assert_eq!(signature(&["plain".into()], "msg_1", 1, "{}"), None, "not a whsec_ secret");
    }
}
