//! The one place for what text the service stores outside workflow documents:
//! names, source providers, descriptions. Every store method that writes such a
//! field checks it here, so the API, the CLI and both backends refuse the same
//! values (PostgreSQL cannot store NUL in `TEXT`; SQLite could, and must not
//! start accepting what PostgreSQL refuses).

use crate::{Error, Result};

/// Workflow, organization and API key names.
pub const NAME_MAX_CHARS: usize = 200;
/// A workflow's `sourceProvider`.
pub const SOURCE_PROVIDER_MAX_CHARS: usize = 200;
/// A workflow's `description`.
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;

/// A required name: not blank, no NUL, at most `NAME_MAX_CHARS`.
pub fn check_name(field: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::Invalid { field, message: format!("{field} must not be empty") });
    }
    check_text(field, value, NAME_MAX_CHARS)
}

/// Optional text: no NUL, at most `max_chars` characters.
pub fn check_text(field: &'static str, value: &str, max_chars: usize) -> Result<()> {
    if value.contains('\0') {
        return Err(Error::Invalid { field, message: format!("{field} must not contain NUL characters") });
    }
    // Counting stops past the limit: a huge value costs no more than a short one.
    if value.chars().nth(max_chars).is_some() {
        return Err(Error::Invalid { field, message: format!("{field} must be at most {max_chars} characters") });
    }
    Ok(())
}

pub(crate) fn check_optional(field: &'static str, value: Option<&str>, max_chars: usize) -> Result<()> {
    value.map_or(Ok(()), |v| check_text(field, v, max_chars))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_present_short_and_free_of_nul() {
        assert!(check_name("name", "shop").is_ok());
        assert!(check_name("name", &"é".repeat(NAME_MAX_CHARS)).is_ok(), "characters, not bytes");
        for bad in ["", "  ", "a\0b", &"x".repeat(NAME_MAX_CHARS + 1)] {
            assert!(matches!(check_name("name", bad), Err(Error::Invalid { field: "name", .. })), "{bad:?}");
        }
        assert!(check_text("description", "", DESCRIPTION_MAX_CHARS).is_ok(), "optional text may be empty");
    }
}
