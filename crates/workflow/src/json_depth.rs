//! Finds JSON text nested deeper than `limits::MAX_JSON_DEPTH` before
//! serde_json parses it, to say where in the document it happens (serde_json
//! would only say "recursion limit exceeded" with a line and column).
//!
//! One pass over the bytes with an explicit stack; it tracks strings, keys and
//! indices, and leaves every other syntax question to serde_json.

use crate::diagnostic::Diagnostic;
use crate::limits::{self, MAX_JSON_DEPTH};

enum Container {
    /// The key being read or last read, and whether a key comes next.
    Object {
        key: Option<String>,
        expecting_key: bool,
    },
    Array {
        index: usize,
    },
}

/// The `too-deeply-nested` diagnostic for the first array or object opened
/// deeper than the limit, located like the other diagnostics.
pub fn too_deep(text: &str) -> Option<Diagnostic> {
    too_deep_within(text, 0)
}

/// `too_deep` for a document wrapped `wrapping` levels deep in `text` (a request
/// body holding it as a field, say): the limit applies to the document itself.
pub fn too_deep_within(text: &str, wrapping: usize) -> Option<Diagnostic> {
    let bytes = text.as_bytes();
    let mut open: Vec<Container> = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        match bytes[pos] {
            b'"' => {
                let end = string_end(bytes, pos);
                if let Some(Container::Object { key, expecting_key: expecting @ true }) = open.last_mut() {
                    // Keys are read as JSON so that escapes come out as the characters they stand for.
                    *key = serde_json::from_slice::<String>(&bytes[pos..end]).ok();
                    *expecting = false;
                }
                pos = end;
                continue;
            }
            b'{' | b'[' => {
                if open.len() >= MAX_JSON_DEPTH + wrapping {
                    return Some(limits::too_deep(location(&open)));
                }
                open.push(if bytes[pos] == b'{' {
                    Container::Object { key: None, expecting_key: true }
                } else {
                    Container::Array { index: 0 }
                });
            }
            b'}' | b']' => {
                open.pop();
            }
            b',' => match open.last_mut() {
                Some(Container::Array { index }) => *index += 1,
                Some(Container::Object { expecting_key, .. }) => *expecting_key = true,
                None => {}
            },
            _ => {}
        }
        pos += 1;
    }
    None
}

/// The index just past the string starting at `start` (or the end of the text).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut pos = start + 1;
    while pos < bytes.len() {
        match bytes[pos] {
            b'\\' => pos += 2,
            b'"' => return pos + 1,
            _ => pos += 1,
        }
    }
    bytes.len()
}

fn location(open: &[Container]) -> String {
    let mut location = String::new();
    for container in open {
        match container {
            Container::Object { key: Some(key), .. } => location = limits::push_key(&location, key),
            Container::Object { key: None, .. } => location = limits::push_key(&location, ""),
            Container::Array { index } => location = format!("{location}[{index}]"),
        }
    }
    location
}
