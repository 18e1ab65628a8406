//! Playwright traces scrubbed of secrets. A trace is a zip of JSON lines
//! (actions with their arguments — the text a `fill` typed —, DOM snapshots,
//! network entries) and resources (response bodies, snapshot files). Every
//! entry that is text is masked with the run's redactor; binary entries
//! (images, fonts) are kept as they are (the screencast is not recorded).
//!
//! The zip was written inside the sandbox by a browser that ran untrusted code,
//! so it is read within limits: entries, sizes once inflated.

use std::io::{Read as _, Write as _};
use std::path::Path;

use engine::Redactor;
use zip::write::SimpleFileOptions;

use crate::artifacts::{create_private, sha256_of};

/// Entries a trace may hold.
const MAX_ENTRIES: usize = 100_000;
/// What a trace may hold once inflated: a small zip can inflate enormously.
const MAX_INFLATED_BYTES: u64 = 512 << 20;
/// The largest entry read whole to be masked; a trace with a larger one is not kept
/// (masking needs the whole text, and its cost grows with it).
const MAX_ENTRY_BYTES: u64 = 32 << 20;

/// Writes `trace` with every text entry masked to `to`; returns its size and SHA-256.
pub(crate) fn scrub(trace: std::fs::File, to: &Path, redactor: &Redactor, limit: u64) -> Result<(u64, String), String> {
    let too_many = || format!("more entries than a trace may hold ({MAX_ENTRIES})");
    // Counted before the zip crate loads a directory into memory: a forged one can be millions long.
    if central_headers(&trace).map_err(|e| format!("not a trace: {e}"))? > MAX_ENTRIES {
        return Err(too_many());
    }
    let mut archive = zip::ZipArchive::new(trace).map_err(|e| format!("not a trace: {e}"))?;
    if archive.len() > MAX_ENTRIES {
        return Err(too_many());
    }
    let mut writer = zip::ZipWriter::new(create_private(to).map_err(|e| e.to_string())?);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut inflated = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| format!("not a trace: {e}"))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().map_err(|e| format!("not a trace: {e}"))?.into_owned();
        // Playwright's own names only: whoever unzips the trace must not write outside its folder.
        if name.starts_with('/') || name.contains('\\') || name.split('/').any(|part| part == ".." || part.is_empty()) {
            return Err("an entry of the trace is not named like Playwright names them".into());
        }
        let mut bytes = Vec::new();
        // Bounded, whatever the entry claims its size is.
        (&mut entry).take(MAX_ENTRY_BYTES + 1).read_to_end(&mut bytes).map_err(|e| format!("{name}: {e}"))?;
        if bytes.len() as u64 > MAX_ENTRY_BYTES {
            return Err(format!("an entry of the trace is larger than {} MiB", MAX_ENTRY_BYTES >> 20));
        }
        inflated += bytes.len() as u64;
        if inflated > MAX_INFLATED_BYTES {
            return Err("the trace inflates beyond what a trace may hold".into());
        }
        let bytes = match String::from_utf8(bytes) {
            Ok(text) => redactor.mask(&text).into_inner().into_bytes(),
            Err(binary) => binary.into_bytes(),
        };
        writer.start_file(name.as_str(), options).map_err(|e| e.to_string())?;
        writer.write_all(&bytes).map_err(|e| e.to_string())?;
    }
    writer.finish().map_err(|e| e.to_string())?;
    let size = std::fs::metadata(to).map_err(|e| e.to_string())?.len();
    if size > limit {
        return Err("over the run's artifact limit".into());
    }
    Ok((size, sha256_of(to).map_err(|e| e.to_string())?))
}

/// The central directory headers anywhere in the file (counting stops past
/// `MAX_ENTRIES`): at least as many as the entries of any directory the zip crate
/// could load from it, counted without loading one. Leaves the file where it was.
fn central_headers(mut file: &std::fs::File) -> std::io::Result<usize> {
    use std::io::Seek as _;
    const SIGNATURE: &[u8] = b"PK\x01\x02";
    let start = file.stream_position()?;
    let finder = aho_corasick::AhoCorasick::new([SIGNATURE]).expect("one plain pattern");
    let mut count = 0;
    for found in finder.stream_find_iter(std::io::BufReader::new(file)) {
        found?;
        count += 1;
        if count > MAX_ENTRIES {
            break;
        }
    }
    file.seek(std::io::SeekFrom::Start(start))?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut writer = zip::ZipWriter::new(file.reopen().unwrap());
        for (name, bytes) in entries {
            writer.start_file(*name, SimpleFileOptions::default()).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap();
        file
    }

    #[test]
    fn every_text_entry_is_masked_and_binary_ones_kept() {
        let secret = "pa55-word-xyz";
        let mut redactor = Redactor::default();
        redactor.add(secret);
        let png = [0x89u8, b'P', b'N', b'G', 0xff, 0xfe];
        let trace = zip_of(&[
            ("trace.trace", format!(r#"{{"method":"fill","params":{{"value":"{secret}"}}}}"#).as_bytes()),
            ("trace.network", format!(r#"{{"postData":"password={secret}"}}"#).as_bytes()),
            ("resources/page.png", &png),
        ]);
        let out = tempfile::tempdir().unwrap();
        let to = out.path().join("trace.zip");
        let (size, _) = scrub(trace.reopen().unwrap(), &to, &redactor, 1 << 20).unwrap();
        assert_eq!(size, std::fs::metadata(&to).unwrap().len());
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&to).unwrap()).unwrap();
        let mut read = |name: &str| {
            let mut bytes = Vec::new();
            archive.by_name(name).unwrap().read_to_end(&mut bytes).unwrap();
            bytes
        };
        assert_eq!(
            String::from_utf8(read("trace.trace")).unwrap(),
            r#"{"method":"fill","params":{"value":"********"}}"#
        );
        assert_eq!(String::from_utf8(read("trace.network")).unwrap(), r#"{"postData":"password=********"}"#);
        assert_eq!(read("resources/page.png"), png);
    }

    #[test]
    fn entries_named_to_escape_the_folder_refuse_the_trace() {
        for name in ["../evil.sh", "/etc/cron.d/x", "resources/../../x", "a//b"] {
            let trace = zip_of(&[(name, b"x")]);
            let out = tempfile::tempdir().unwrap();
            let refused = scrub(trace.reopen().unwrap(), &out.path().join("t.zip"), &Redactor::default(), 1 << 20);
            assert!(refused.is_err(), "{name} was kept");
        }
    }

    #[test]
    fn what_is_not_a_trace_is_refused() {
        let junk = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(junk.path(), b"not a zip at all").unwrap();
        let out = tempfile::tempdir().unwrap();
        let refused = scrub(junk.reopen().unwrap(), &out.path().join("t.zip"), &Redactor::default(), 1 << 20);
        assert!(refused.unwrap_err().starts_with("not a trace"));
    }

    #[test]
    fn a_directory_too_long_to_load_is_refused_before_it_is_loaded() {
        let forged = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(forged.path(), b"PK\x01\x02".repeat(MAX_ENTRIES + 1)).unwrap();
        let out = tempfile::tempdir().unwrap();
        let refused = scrub(forged.reopen().unwrap(), &out.path().join("t.zip"), &Redactor::default(), 1 << 20);
        assert!(refused.unwrap_err().contains("more entries than a trace may hold"));
    }
}
