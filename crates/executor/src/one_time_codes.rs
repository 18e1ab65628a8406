//! One-time codes from an identity's authenticator secret (RFC 6238), for LOGIN
//! runs: the inputs named like a code are filled when the segment that reads them
//! starts, not when the run starts, since a code lives 30 seconds and a login may
//! take longer to reach its code step.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

/// Inputs that take the current code.
pub const CODE_INPUTS: [&str; 3] = ["otp_code", "totp_code", "mfa_code"];
/// A code closer than this to the end of its window is not used: the next one is,
/// which the site accepts as the window turns (sites allow a window of skew).
const MIN_SECONDS_LEFT: u64 = 5;

/// An authenticator secret. It signs its holder in: it never prints.
#[derive(Clone)]
pub struct OneTimeCodes(totp_rs::Totp);

impl std::fmt::Debug for OneTimeCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeCodes(redacted)")
    }
}

impl OneTimeCodes {
    /// From the base32 secret authenticator apps take (spaces and `=` ignored, any case).
    /// The error does not show the secret.
    pub fn from_base32(secret: &str) -> Result<OneTimeCodes, String> {
        let cleaned: String = secret.chars().filter(|c| *c != ' ' && *c != '=').collect::<String>().to_uppercase();
        let secret = totp_rs::Secret::try_from_base32(cleaned).map_err(|_| "the TOTP secret is not base32")?;
        // Secrets shorter than RFC 4226 asks for are common (80 bits): they are taken.
        Ok(OneTimeCodes(totp_rs::Builder::new().with_secret(secret).build_noncompliant()))
    }

    /// The code to type at `unix_seconds`: this window's, or the next one's when this
    /// one has less than `MIN_SECONDS_LEFT` to live.
    pub fn code_at(&self, unix_seconds: u64) -> String {
        let step = 30;
        let left = step - unix_seconds % step;
        let at = if left < MIN_SECONDS_LEFT { unix_seconds + left } else { unix_seconds };
        self.0.generate(at).to_string()
    }

    /// Fills every code input of `parameters` with the code of now; returns it when
    /// one was filled, for the run to mask.
    pub(crate) fn fill(&self, parameters: &mut Map<String, Value>) -> Option<String> {
        let wanted: Vec<&str> = CODE_INPUTS.iter().copied().filter(|name| parameters.contains_key(*name)).collect();
        if wanted.is_empty() {
            return None;
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let code = self.code_at(now);
        for name in wanted {
            parameters.insert(name.to_owned(), Value::String(code.clone()));
        }
        Some(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's test vector for SHA-1 (secret "12345678901234567890"), six digits.
    #[test]
    fn codes_follow_rfc_6238_and_move_on_near_the_end_of_a_window() {
        let codes = OneTimeCodes::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        // RFC 6238 gives 94287082 at T=59 and 07081804 at T=1111111109 (8 digits; six
        // are the last six). Asked 10 seconds before those windows end, the same codes.
        assert_eq!(codes.code_at(50), "287082");
        assert_eq!(codes.code_at(1_111_111_100), "081804");
        // 4 seconds left in the window that ends at 60: the next window's code.
        assert_eq!(codes.code_at(56), codes.code_at(60));
        assert_ne!(codes.code_at(55), codes.code_at(60), "5 seconds left is enough");
        assert!(!format!("{codes:?}").contains("GEZ"), "never prints");
        let spaced = OneTimeCodes::from_base32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").unwrap();
        assert_eq!(spaced.code_at(50), "287082");
        assert!(OneTimeCodes::from_base32("not base32!").unwrap_err().contains("not base32"));
    }

    #[test]
    fn code_inputs_are_filled_and_the_rest_left_alone() {
        let codes = OneTimeCodes::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        let mut parameters = Map::new();
        parameters.insert("username".into(), Value::from("demo"));
        parameters.insert("otp_code".into(), Value::from("placeholder"));
        let code = codes.fill(&mut parameters).expect("a code input");
        assert_eq!(
            (parameters["otp_code"].as_str(), parameters["username"].as_str()),
            (Some(code.as_str()), Some("demo"))
        );
        assert_eq!(code.len(), 6);
        let mut none = Map::new();
        none.insert("username".into(), Value::from("demo"));
        assert!(codes.fill(&mut none).is_none());
    }
}
