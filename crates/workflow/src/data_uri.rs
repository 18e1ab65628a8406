//! `data:` URIs, the wire form of `file` parameters.

use base64::Engine as _;
use data_url::{DataUrl, DataUrlError};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataUri {
    pub mime: String,
    /// From a `name=` parameter (`data:text/csv;name=report.csv;base64,…`).
    pub name: Option<String>,
    pub bytes: Vec<u8>,
}

/// Decodes a `data:` URI the way browsers do (the Fetch standard's data URL
/// processor, through `data-url`): `;base64` in any case, whitespace in the
/// payload, percent-escapes in text payloads, `text/plain` when no type is given.
pub fn parse(uri: &str) -> Result<DataUri, String> {
    let url = DataUrl::process(uri.trim()).map_err(|e| match e {
        DataUrlError::NotADataUrl => "a data URI must start with `data:`".to_owned(),
        DataUrlError::NoComma => "a data URI needs a `,` before its data".to_owned(),
    })?;
    let (bytes, _) = url.decode_to_vec().map_err(|_| "the data URI's base64 is invalid".to_owned())?;
    let mime_type = url.mime_type();
    let mime = format!("{}/{}", mime_type.type_, mime_type.subtype);
    // A name the MIME parser could not keep (a malformed type) is still the file's name.
    let name = mime_type.get_parameter("name").or_else(|| name_param(uri.trim()));
    Ok(DataUri { mime, name: name.map(|n| percent_decode_str(n).decode_utf8_lossy().into_owned()), bytes })
}

/// The `name=` parameter without decoding the payload.
pub fn name_param(uri: &str) -> Option<&str> {
    let header = uri.strip_prefix("data:")?.split_once(',')?.0;
    header.split(';').find_map(|p| p.trim().strip_prefix("name="))
}

pub fn encode(mime: &str, name: Option<&str>, bytes: &[u8]) -> String {
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    match name {
        Some(n) => format!("data:{mime};name={};base64,{data}", percent_encode(n)),
        None => format!("data:{mime};base64,{data}"),
    }
}

/// Everything but RFC 3986's unreserved characters is escaped.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Percent-encodes everything but unreserved characters (RFC 3986), for URIs.
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, NOT_UNRESERVED).to_string()
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

    #[test]
    fn reads_data_uris_as_browsers_do() {
        let upper = parse("data:text/csv;name=a.csv;BASE64,YSxiCg==").unwrap();
        assert_eq!(
            (upper.mime.as_str(), upper.name.as_deref(), upper.bytes.as_slice()),
            ("text/csv", Some("a.csv"), &b"a,b\n"[..])
        );
        assert_eq!(parse("data:;Base64,aGk=").unwrap().bytes, b"hi");
        assert_eq!(
            parse("data:application/octet-stream;base64,aG V\nz").unwrap().bytes,
            b"hes",
            "whitespace is skipped"
        );
        assert_eq!(parse("data:,x").unwrap().mime, "text/plain");
        assert_eq!(parse("DATA:text/plain,x").unwrap().bytes, b"x", "the scheme in any case");
    }
}
