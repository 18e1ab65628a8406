//! The artifact store: where the bytes of the files runs leave are kept, by key,
//! streamed in and out (a 200 MB download never sits in memory). A local folder
//! by default, through `object_store`, so S3-compatible storage is the same code.
//! Metadata (names, sizes, who may read them) is in the database, not here.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use object_store::path::Path as Key;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt as _, WriteMultipart};
use tokio::io::AsyncReadExt as _;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("artifact store: {0}")]
    Store(#[from] object_store::Error),
    #[error("artifact store: {0}")]
    Io(#[from] std::io::Error),
    #[error("artifact store: the range {start}-{end} is outside the object")]
    BadRange { start: u64, end: u64 },
}

/// Pieces a file is uploaded in.
const CHUNK: usize = 8 << 20;

#[derive(Clone, Debug)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
}

/// An object being read: its whole size, the range sent, the bytes.
pub struct Fetched {
    pub size: u64,
    pub range: Range<u64>,
    pub bytes: BoxStream<'static, Result<bytes::Bytes, Error>>,
}

impl Blobs {
    /// Objects as files under `dir` (created, private to this user).
    pub fn local(dir: &Path) -> Result<Blobs, Error> {
        std::fs::create_dir_all(dir)?;
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)?;
        Ok(Blobs { store: Arc::new(store) })
    }

    /// The key of a run's artifact: each part is escaped, so no name reaches outside its run.
    pub fn key(org_id: &str, run_id: &str, attempt: i64, name: &str) -> String {
        let attempt = attempt.to_string();
        Key::from_iter([org_id, run_id, attempt.as_str(), name]).to_string()
    }

    /// Uploads a file in pieces.
    pub async fn put_file(&self, key: &str, file: &Path) -> Result<(), Error> {
        let mut source = tokio::fs::File::open(file).await?;
        let upload = self.store.put_multipart(&Key::from(key)).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, CHUNK);
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = match source.read(&mut buffer).await {
                Ok(n) => n,
                Err(e) => {
                    writer.abort().await?;
                    return Err(e.into());
                }
            };
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(4).await?;
            writer.write(&buffer[..n]);
        }
        writer.finish().await?;
        Ok(())
    }

    /// Reads an object, or the part `range` of it (end exclusive, cut at the object's end).
    pub async fn get(&self, key: &str, range: Option<Range<u64>>) -> Result<Fetched, Error> {
        let key = Key::from(key);
        let range = match range {
            Some(r) => {
                let size = self.store.head(&key).await?.size;
                if r.start >= size || r.start >= r.end {
                    return Err(Error::BadRange { start: r.start, end: r.end });
                }
                Some(GetRange::Bounded(r.start..r.end.min(size)))
            }
            None => None,
        };
        let got = self.store.get_opts(&key, GetOptions { range, ..GetOptions::default() }).await?;
        let (size, range) = (got.meta.size, got.range.clone());
        Ok(Fetched { size, range, bytes: got.into_stream().map(|piece| piece.map_err(Error::from)).boxed() })
    }

    pub async fn delete(&self, key: &str) -> Result<(), Error> {
        match self.store.delete(&Key::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(fetched: Fetched) -> Vec<u8> {
        let mut out = Vec::new();
        let mut bytes = fetched.bytes;
        while let Some(piece) = bytes.next().await {
            out.extend_from_slice(&piece.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn files_go_in_by_key_and_come_out_whole_or_by_range() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(&dir.path().join("artifacts")).unwrap();
        let file = dir.path().join("report.csv");
        std::fs::write(&file, b"0123456789").unwrap();
        let key = Blobs::key("org_1", "run_1", 1, "../../report.csv");
        assert!(!key.contains("../"), "a name cannot climb out of its run: {key}");
        blobs.put_file(&key, &file).await.unwrap();
        let whole = blobs.get(&key, None).await.unwrap();
        assert_eq!((whole.size, whole.range.clone()), (10, 0..10));
        assert_eq!(collect(whole).await, b"0123456789");
        let part = blobs.get(&key, Some(2..5)).await.unwrap();
        assert_eq!(collect(part).await, b"234");
        let tail = blobs.get(&key, Some(8..100)).await.unwrap();
        assert_eq!((tail.size, tail.range.clone()), (10, 8..10));
        assert!(matches!(blobs.get(&key, Some(10..12)).await, Err(Error::BadRange { .. })));
        blobs.delete(&key).await.unwrap();
        assert!(blobs.get(&key, None).await.is_err());
        blobs.delete(&key).await.expect("deleting what is gone is fine");
    }
}
