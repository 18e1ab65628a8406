//! Masking of secret values in everything segue prints, stores or sends to a
//! model. Text that leaves a run is a `Masked` value, and only a `Redactor`
//! makes one: a path that forgets to mask does not compile.
//!
//! Each secret is matched in the forms code commonly turns it into:
//! - as is, ignoring ASCII case (`toUpperCase()`), plus its Unicode upper and lower case;
//! - URL-encoded: `encodeURIComponent` and strict percent-encoding, spaces as `%20` or `+`;
//! - JSON-escaped (the text inside a JSON string), once and twice (JSON inside JSON),
//!   and with non-ASCII characters as `\uXXXX` (Python's `json.dumps`);
//! - hex of its UTF-8 bytes, either case;
//! - base64, standard and URL-safe alphabets, whole (with and without `=` padding)
//!   and embedded in a longer encoded string: base64 groups 3 bytes, so the secret's
//!   characters depend on where it starts; for each of the 3 offsets the characters
//!   that only the secret's bytes decide are masked (at most 2 characters at each
//!   end, which carry a few bits of its first and last byte, stay visible).
//!
//! Secrets shorter than `MIN_ENCODED_LEN` characters are masked only as they
//! are, case-sensitively: their encodings and case folds are so short they
//! would mask unrelated text everywhere.

use std::fmt;
use std::ops::{Deref, Range};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

use crate::failure::Failure;

pub const MASK: &str = "********";

/// Secrets with fewer characters are masked only in their exact form.
pub const MIN_ENCODED_LEN: usize = 4;

/// A value that went through a run's `Redactor`. The field is private and only
/// this module builds one, so whatever requires `Masked` cannot be handed clear text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked<T = String>(T);

impl<T> Masked<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Masked<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl Masked<String> {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// At most `max_bytes` of the text, cut on a character boundary. Cutting
    /// masked text keeps it masked (cutting before masking could leave half a
    /// secret that no longer matches).
    pub fn truncated(mut self, max_bytes: usize) -> Masked<String> {
        if self.0.len() > max_bytes {
            let mut end = max_bytes;
            while !self.0.is_char_boundary(end) {
                end -= 1;
            }
            self.0.truncate(end);
        }
        self
    }
}

impl fmt::Display for Masked<String> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Masked<Failure> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Replaces every known secret, in any of the forms listed above, with `MASK`.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
    /// Rebuilt when a secret is added; `None` while there is none.
    matcher: Option<Matcher>,
}

#[derive(Clone)]
struct Matcher {
    /// Forms matched ignoring ASCII case.
    folded: AhoCorasick,
    /// Forms whose case carries meaning (base64) and short secrets.
    exact: AhoCorasick,
}

// By hand: a derived `Debug` would print the secrets.
impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor").field("secrets", &self.secrets.len()).finish_non_exhaustive()
    }
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor::default()
    }

    pub fn add(&mut self, secret: &str) {
        self.add_all([secret]);
    }

    /// Adds many secrets with one rebuild of the matcher (a session's cookies).
    pub fn add_all<'a>(&mut self, secrets: impl IntoIterator<Item = &'a str>) {
        let before = self.secrets.len();
        let mut known: std::collections::HashSet<&str> = self.secrets.iter().map(String::as_str).collect();
        let mut added = Vec::new();
        for secret in secrets {
            // Empty strings would match everywhere; they hide nothing anyway.
            if !secret.is_empty() && known.insert(secret) {
                added.push(secret.to_owned());
            }
        }
        self.secrets.extend(added);
        if self.secrets.len() == before {
            return;
        }
        let (mut folded, mut exact) = (Vec::new(), Vec::new());
        for s in &self.secrets {
            forms(s, &mut folded, &mut exact);
        }
        let build = |patterns: &[String], ascii_case_insensitive: bool| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(ascii_case_insensitive)
                .build(patterns)
                .expect("secret patterns are plain strings")
        };
        self.matcher = Some(Matcher { folded: build(&folded, true), exact: build(&exact, false) });
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The clear values, for the browser side only (the runner hides the page
    /// elements showing them in screenshots). Never put them in text that leaves the run.
    pub fn secret_values(&self) -> &[String] {
        &self.secrets
    }

    pub fn mask(&self, text: &str) -> Masked {
        Masked(self.redact(text))
    }

    /// Every string in the value, object keys included.
    pub fn mask_value(&self, value: &Value) -> Masked<Value> {
        Masked(self.redact_value(value))
    }

    pub fn mask_map(&self, map: &Map<String, Value>) -> Masked<Map<String, Value>> {
        Masked(self.redact_map(map))
    }

    /// The failure with its message masked (codes and segment names are segue's own).
    pub fn mask_failure(&self, failure: &Failure) -> Masked<Failure> {
        Masked(Failure { message: self.redact(&failure.message), ..failure.clone() })
    }

    fn redact(&self, text: &str) -> String {
        let Some(matcher) = &self.matcher else { return text.to_owned() };
        // Every match, overlapping ones too: they are merged into one mask. Merged as
        // they are found, so a text full of matches (`aaaa…` for the secret `aaaa`) costs
        // memory for the masked stretches, not for every overlapping match.
        let mut found = merged(matcher.folded.find_overlapping_iter(text).map(|m| m.range()));
        found.extend(merged(matcher.exact.find_overlapping_iter(text).map(|m| m.range())));
        if found.is_empty() {
            return text.to_owned();
        }
        found.sort_by_key(|r| r.start);
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut pending: Option<Range<usize>> = None;
        for r in found {
            match &mut pending {
                Some(p) if r.start <= p.end => p.end = p.end.max(r.end),
                _ => {
                    if let Some(p) = pending.replace(r) {
                        out.push_str(&text[copied..p.start]);
                        out.push_str(MASK);
                        copied = p.end;
                    }
                }
            }
        }
        if let Some(p) = pending {
            out.push_str(&text[copied..p.start]);
            out.push_str(MASK);
            copied = p.end;
        }
        out.push_str(&text[copied..]);
        out
    }

    fn redact_value(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.redact(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.redact_value(v)).collect()),
            Value::Object(map) => Value::Object(self.redact_map(map)),
            other => other.clone(),
        }
    }

    fn redact_map(&self, map: &Map<String, Value>) -> Map<String, Value> {
        map.iter().map(|(k, v)| (self.redact(k), self.redact_value(v))).collect()
    }
}

/// Overlapping and touching ranges merged as they come. Matches arrive in order
/// of their ends, so a new one can only reach back over the last few kept.
fn merged(ranges: impl Iterator<Item = Range<usize>>) -> Vec<Range<usize>> {
    let mut kept: Vec<Range<usize>> = Vec::new();
    for mut r in ranges {
        while let Some(last) = kept.last() {
            if r.start > last.end || r.end < last.start {
                break;
            }
            r = r.start.min(last.start)..r.end.max(last.end);
            kept.pop();
        }
        kept.push(r);
    }
    kept
}

/// Adds the forms `secret` is matched in to `folded` (ASCII case ignored) and `exact`.
fn forms(secret: &str, folded: &mut Vec<String>, exact: &mut Vec<String>) {
    if secret.chars().count() < MIN_ENCODED_LEN {
        exact.push(secret.to_owned());
        return;
    }
    let json = json_escaped(secret);
    let mut candidates = vec![
        secret.to_owned(),
        secret.to_uppercase(),
        secret.to_lowercase(),
        json_escaped(&json),
        ascii_escaped(&json),
        json,
        percent_encoded(secret, is_uri_component_safe, "%20"),
        percent_encoded(secret, is_uri_component_safe, "+"),
        percent_encoded(secret, is_unreserved, "%20"),
        percent_encoded(secret, is_unreserved, "+"),
        secret.bytes().map(|b| format!("{b:02x}")).collect(),
    ];
    candidates.sort();
    candidates.dedup();
    folded.extend(candidates);
    let bytes = secret.as_bytes();
    for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
        exact.push(engine.encode(bytes));
    }
    for offset in 0..3 {
        let core = base64_core(bytes, offset);
        if core.chars().count() >= MIN_ENCODED_LEN {
            exact.push(core.replace('+', "-").replace('/', "_"));
            exact.push(core);
        }
    }
}

/// The base64 characters decided by `bytes` alone when they start `offset`
/// bytes into a 3-byte group, whatever surrounds them.
fn base64_core(bytes: &[u8], offset: usize) -> String {
    let mut padded = vec![0; offset];
    padded.extend_from_slice(bytes);
    padded.extend_from_slice(&[0, 0]);
    let encoded = STANDARD_NO_PAD.encode(&padded);
    // Character i holds bits 6i..6i+6; the secret's are 8·offset..8·(offset+len).
    let first = (8 * offset).div_ceil(6);
    let end = 8 * (offset + bytes.len()) / 6;
    encoded[first..end].to_owned()
}

/// The text between the quotes of the JSON string holding `s`.
fn json_escaped(s: &str) -> String {
    let quoted = Value::String(s.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

/// Non-ASCII characters as `\uXXXX` escapes (UTF-16, as JSON spells them).
fn ascii_escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

fn percent_encoded(s: &str, keep: fn(u8) -> bool, space: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b' ' => out.push_str(space),
            _ if keep(b) => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// RFC 3986 unreserved characters.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// What JavaScript's `encodeURIComponent` leaves as is.
fn is_uri_component_safe(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'!' | b'\'' | b'(' | b')' | b'*')
}

#[cfg(test)]
mod tests;
