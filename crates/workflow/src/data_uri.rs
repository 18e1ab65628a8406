//! `data:` URIs, the wire form of `file` parameters.

use base64::Engine as _;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataUri {
    pub mime: String,
    /// From a `name=` parameter (`data:text/csv;name=report.csv;base64,…`).
    pub name: Option<String>,
    pub bytes: Vec<u8>,
}

pub fn parse(uri: &str) -> Result<DataUri, String> {
    let rest = uri.strip_prefix("data:").ok_or("a data URI must start with `data:`")?;
    let (header, payload) = rest.split_once(',').ok_or("a data URI needs a `,` before its data")?;
    let mut parts = header.split(';');
    let mime = parts.next().filter(|m| !m.is_empty()).unwrap_or("text/plain").to_owned();
    let mut name = None;
    let mut base64 = false;
    for part in parts {
        if part == "base64" {
            base64 = true;
        } else if let Some(n) = part.strip_prefix("name=") {
            name = Some(percent_decode(n));
        }
    }
    let bytes = if base64 {
        base64::engine::general_purpose::STANDARD
            .decode(payload.trim())
            .map_err(|e| format!("the data URI's base64 is invalid: {e}"))?
    } else {
        percent_decode(payload).into_bytes()
    };
    Ok(DataUri { mime, name, bytes })
}

/// The `name=` parameter without decoding the payload.
pub fn name_param(uri: &str) -> Option<&str> {
    let header = uri.strip_prefix("data:")?.split_once(',')?.0;
    header.split(';').find_map(|p| p.strip_prefix("name="))
}

pub fn encode(mime: &str, name: Option<&str>, bytes: &[u8]) -> String {
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    match name {
        Some(n) => format!("data:{mime};name={};base64,{data}", percent_encode(n)),
        None => format!("data:{mime};base64,{data}"),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for URIs.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_a_name() {
        let uri = encode("text/csv", Some("my report.csv"), b"a,b\n1,2\n");
        assert_eq!(name_param(&uri), Some("my%20report.csv"));
        let parsed = parse(&uri).unwrap();
        assert_eq!(
            parsed,
            DataUri { mime: "text/csv".into(), name: Some("my report.csv".into()), bytes: b"a,b\n1,2\n".to_vec() }
        );
    }

    #[test]
    fn plain_payloads_are_percent_decoded() {
        assert_eq!(parse("data:,hello%20world").unwrap().bytes, b"hello world");
        assert!(parse("data:text/plain;base64,@@@").is_err());
        assert!(parse("hello").is_err());
    }
}
