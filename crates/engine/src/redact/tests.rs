use serde_json::json;

use super::*;
use crate::failure::ErrorCode;

const PLAIN: &str = "p@ss w0rd!";
const QUOTED: &str = r#"pa"ss\word"#;

fn redactor(secrets: &[&str]) -> Redactor {
    let mut r = Redactor::new();
    for s in secrets {
        r.add(s);
    }
    r
}

/// `form` (as JavaScript printed it) is masked whole inside a line of text.
fn check_hidden(secret: &str, form: &str) {
    let r = redactor(&[secret]);
    let masked = r.mask(&format!("got <{form}> ok"));
    assert_eq!(masked.as_str(), format!("got <{MASK}> ok"), "{form} of {secret}");
}

#[test]
fn masks_each_encoding_of_both_passwords() {
    // Each pair: the form, as node printed it for "p@ss w0rd!" and for "pa\"ss\\word".
    let forms = [
        ("exact", PLAIN, QUOTED),
        ("toUpperCase", "P@SS W0RD!", r#"PA"SS\WORD"#),
        ("encodeURIComponent", "p%40ss%20w0rd!", "pa%22ss%5Cword"),
        ("URLSearchParams", "p%40ss+w0rd%21", "pa%22ss%5Cword"),
        ("lower-case percent-encoding", "p%40ss%20w0rd%21", "pa%22ss%5cword"),
        ("JSON.stringify", r#""p@ss w0rd!""#, r#""pa\"ss\\word""#),
        ("JSON inside JSON", "p@ss w0rd!", r#"pa\\\"ss\\\\word"#),
        ("btoa", "cEBzcyB3MHJkIQ==", "cGEic3Ncd29yZA=="),
        ("base64url", "cEBzcyB3MHJkIQ", "cGEic3Ncd29yZA"),
        ("hex", "70407373207730726421", "70612273735c776f7264"),
        ("HEX", "70407373207730726421", "70612273735C776F7264"),
    ];
    for (what, plain, quoted) in forms {
        for (secret, form) in [(PLAIN, plain), (QUOTED, quoted)] {
            let form = form.trim_matches('"');
            let r = redactor(&[secret]);
            let masked = r.mask(&format!("got <{form}> ok"));
            assert_eq!(masked.as_str(), format!("got <{MASK}> ok"), "{what} of {secret}");
        }
    }
}

#[test]
fn masks_base64_of_a_secret_inside_longer_text_at_every_alignment() {
    // btoa("u:" + pw + "x"), btoa("us:" + pw + "xy"), btoa("use:" + pw + "xyz"), as node printed them.
    let cases = [
        (PLAIN, ["dTpwQHNzIHcwcmQheA==", "dXM6cEBzcyB3MHJkIXh5", "dXNlOnBAc3MgdzByZCF4eXo="]),
        (QUOTED, ["dTpwYSJzc1x3b3JkeA==", "dXM6cGEic3Ncd29yZHh5", "dXNlOnBhInNzXHdvcmR4eXo="]),
    ];
    for (secret, encoded) in cases {
        let r = redactor(&[secret]);
        for e in encoded {
            let masked = r.mask(e);
            let kept = masked.len() - MASK.len();
            // At most 2 characters of partial bits at each end of the secret, plus the surroundings.
            assert!(masked.contains(MASK) && kept <= e.len() - (8 * secret.len() / 6 - 2), "{e} → {}", *masked);
        }
    }
}

#[test]
fn short_secrets_are_masked_only_as_they_are() {
    let r = redactor(&["abc"]);
    assert_eq!(r.mask("abc ABC YWJj 616263").as_str(), format!("{MASK} ABC YWJj 616263"));
    // Four characters and more: every form.
    check_hidden("abcd", "ABCD");
    check_hidden("abcd", "YWJjZA==");
}

#[test]
fn non_ascii_secrets_match_their_unicode_case_folds() {
    check_hidden("grüße-42", "GRÜSSE-42");
    check_hidden("ÀÉÎÕÜ123", "àéîõü123");
    check_hidden("grüße-42", "gr%C3%BC%C3%9Fe-42");
    // Python's json.dumps (ensure_ascii), and a character outside the BMP as a surrogate pair.
    check_hidden("grüße-42", r"gr\u00fc\u00dfe-42");
    check_hidden("key-🔑-1", r"KEY-\uD83D\uDD11-1");
}

#[test]
fn masks_longest_secret_first_overlaps_whole_and_inside_json() {
    let r = redactor(&["abcd", "abcdefgh", ""]);
    assert_eq!(r.mask("x abcdefgh y abcd").as_str(), format!("x {MASK} y {MASK}"));
    // Two secrets overlapping in the text become one mask.
    let r = redactor(&["secret-one", "one-two-three"]);
    assert_eq!(r.mask("a secret-one-two-three b").as_str(), format!("a {MASK} b"));
    assert_eq!(
        r.mask_value(&json!({"secret-one": ["x secret-one", 1]})).into_inner(),
        json!({MASK: [format!("x {MASK}"), 1]})
    );
    assert_eq!(r.mask("nothing").as_str(), "nothing");
    assert_eq!(Redactor::new().mask("anything").as_str(), "anything");
}

#[test]
fn failures_keep_their_code_and_segment() {
    let r = redactor(&[PLAIN]);
    let failure = Failure::new(ErrorCode::SegmentThrew, Some("login"), format!("rejected {PLAIN}"));
    let masked = r.mask_failure(&failure);
    assert_eq!(*masked, Failure::new(ErrorCode::SegmentThrew, Some("login"), format!("rejected {MASK}")));
}

#[test]
fn debug_does_not_print_secrets() {
    let r = redactor(&[PLAIN]);
    assert!(!format!("{r:?}").contains("w0rd"));
}

#[test]
fn a_text_full_of_overlapping_matches_is_one_mask() {
    let r = redactor(&["aaaa"]);
    assert_eq!(r.mask(&"a".repeat(100_000)).as_str(), MASK);
    assert_eq!(r.mask("xaaaaaax aaaa").as_str(), format!("x{MASK}x {MASK}"));
    assert_eq!(merged([5..9, 0..4, 3..6].into_iter()), vec![Range { start: 0, end: 9 }], "out of order, still merged");
}

/// A session's cookies arrive together: added at once, each is masked, repeats and
/// empty values count once or not at all.
#[test]
fn many_secrets_added_at_once_are_each_masked() {
    let cookies: Vec<String> = (0..500).map(|i| format!("cookie-value-{i:04}-zq")).collect();
    let mut redactor = Redactor::new();
    redactor.add_all(cookies.iter().map(String::as_str).chain(["", "cookie-value-0007-zq"]));
    assert_eq!(redactor.secret_values().len(), 500);
    let text = format!("a={} b={} c=plain", cookies[7], cookies[499]);
    assert_eq!(redactor.mask(&text).as_str(), "a=******** b=******** c=plain");
}
