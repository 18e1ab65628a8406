//! The artifact store: where the bytes of the files runs leave are kept, by key,
//! streamed in and out (a 200 MB download never sits in memory). A local folder
//! by default or a bucket of S3-compatible storage, both through `object_store`,
//! so the rest of segue sees one `Blobs`. Metadata (names, sizes, who may read
//! them) is in the database, not here.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as Key;
use object_store::prefix::PrefixStore;
use object_store::{
    ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt as _, PutPayload, RetryConfig, WriteMultipart,
};
use tokio::io::AsyncReadExt as _;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("artifact store: {0}")]
    Store(#[from] object_store::Error),
    #[error("artifact store: {0}")]
    Io(#[from] std::io::Error),
    #[error("artifact store: the range {start}-{end} is outside the object")]
    BadRange { start: u64, end: u64 },
    /// The object is not in the store (removed, or kept where this process cannot see).
    #[error("artifact store: no object at {0}")]
    NotFound(String),
    #[error("artifact store: {0}")]
    Location(String),
}

impl Error {
    fn from_store(e: object_store::Error) -> Error {
        match e {
            object_store::Error::NotFound { path, .. } => Error::NotFound(path),
            e => Error::Store(e),
        }
    }
}

/// Where artifact bytes are kept, as `--artifact-store` spells it: a folder, or
/// `s3://bucket/prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl FromStr for Location {
    type Err = Error;

    fn from_str(spelled: &str) -> Result<Location, Error> {
        let Some((scheme, rest)) = spelled.split_once("://") else {
            return match spelled.is_empty() {
                true => Err(Error::Location("an empty artifact store; use a folder or s3://bucket/prefix".into())),
                false => Ok(Location::Local(PathBuf::from(spelled))),
            };
        };
        if scheme != "s3" {
            return Err(Error::Location(format!(
                "'{scheme}://' is not a store segue knows; use a folder or s3://bucket/prefix"
            )));
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // S3's own rule for bucket names, so a mistyped one fails here and not at the first upload.
        let valid = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
            && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !valid {
            return Err(Error::Location(format!("'{bucket}' is not a valid S3 bucket name in {spelled}")));
        }
        let prefix = Key::parse(prefix.trim_matches('/'))
            .map_err(|e| Error::Location(format!("the prefix in {spelled} is not a valid key: {e}")))?;
        Ok(Location::S3 { bucket: bucket.to_owned(), prefix: prefix.to_string() })
    }
}

/// Pieces a file is uploaded in.
const CHUNK: usize = 8 << 20;

#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
}

/// Names the store only: its configuration may hold credentials.
impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blobs({})", self.store)
    }
}

/// An object being read: its whole size, the range sent, the bytes.
pub struct Fetched {
    pub size: u64,
    pub range: Range<u64>,
    pub bytes: BoxStream<'static, Result<bytes::Bytes, Error>>,
}

impl Blobs {
    /// The store at `location`. `s3_settings` configure S3 as the AWS environment
    /// variables do (`aws_access_key_id`, `aws_endpoint_url`, `aws_region`, ... by
    /// their lowercase names; others are ignored): the caller reads the environment.
    pub fn open(location: &Location, s3_settings: &[(String, String)]) -> Result<Blobs, Error> {
        match location {
            Location::Local(dir) => Blobs::local(dir),
            Location::S3 { bucket, prefix } => Blobs::s3(bucket, prefix, s3_settings),
        }
    }

    /// Objects as files under `dir` (created, private to this user).
    pub fn local(dir: &Path) -> Result<Blobs, Error> {
        std::fs::create_dir_all(dir)?;
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)?;
        Ok(Blobs { store: Arc::new(store) })
    }

    /// Objects in an S3-compatible bucket, under `prefix`.
    pub fn s3(bucket: &str, prefix: &str, settings: &[(String, String)]) -> Result<Blobs, Error> {
        // Defaults first, so the operator's settings (AWS_TIMEOUT, AWS_PROXY_URL…) win:
        // no limit on a whole request (a large file streams to a slow client for
        // minutes), but one on connecting and on each read.
        let defaults = ClientOptions::new()
            .with_timeout_disabled()
            .with_connect_timeout(Duration::from_secs(10))
            .with_read_timeout(Duration::from_secs(60));
        let mut builder = AmazonS3Builder::new()
            .with_client_options(defaults)
            // A few quick retries: an upload waits on them with the run's lease held.
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
                ..RetryConfig::default()
            });
        let mut plain_http = false;
        for (name, value) in settings {
            if let Ok(key) = AmazonS3ConfigKey::from_str(&name.to_ascii_lowercase()) {
                // An endpoint the operator spelled with http:// (MinIO, a test server) is meant.
                plain_http |= matches!(key, AmazonS3ConfigKey::Endpoint | AmazonS3ConfigKey::S3Endpoint)
                    && value.get(..7).is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"));
                builder = builder.with_config(key, value);
            }
        }
        if plain_http {
            builder = builder.with_allow_http(true);
        }
        let store = builder.with_bucket_name(bucket).build()?;
        let store: Arc<dyn ObjectStore> = match prefix {
            "" => Arc::new(store),
            prefix => Arc::new(PrefixStore::new(store, prefix)),
        };
        Ok(Blobs { store })
    }

    /// Fails when the store cannot be written (a wrong bucket, missing credentials
    /// or permissions): better at a server's start than at its first upload. Writes
    /// and deletes a marker object, which needs only the permissions segue uses.
    pub async fn check(&self) -> Result<(), Error> {
        let marker = Key::from("segue-store-check");
        self.store.put(&marker, PutPayload::from_static(b"segue")).await?;
        match self.store.delete(&marker).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The key of a run's artifact: each part is escaped, so no name reaches outside its run.
    pub fn key(org_id: &str, run_id: &str, attempt: i64, name: &str) -> String {
        let attempt = attempt.to_string();
        Key::from_iter([org_id, run_id, attempt.as_str(), name]).to_string()
    }

    /// Uploads a file: whole when small, else in pieces.
    pub async fn put_file(&self, key: &str, file: &Path) -> Result<(), Error> {
        let mut source = tokio::fs::File::open(file).await?;
        if source.metadata().await?.len() <= CHUNK as u64 {
            let mut whole = Vec::new();
            (&mut source).take(CHUNK as u64 + 1).read_to_end(&mut whole).await?;
            self.store.put(&Key::from(key), PutPayload::from(whole)).await?;
            return Ok(());
        }
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
            if let Err(e) = writer.wait_for_capacity(4).await {
                // Aborted, so no half-uploaded parts stay in the bucket.
                let _ = writer.abort().await;
                return Err(e.into());
            }
            writer.write(&buffer[..n]);
        }
        // A failed completion aborts the upload itself.
        writer.finish().await?;
        Ok(())
    }

    /// Reads an object, or the part `range` of it (end exclusive, cut at the object's end).
    pub async fn get(&self, key: &str, range: Option<Range<u64>>) -> Result<Fetched, Error> {
        let key = Key::from(key);
        let range = match range {
            Some(r) => {
                let size = self.store.head(&key).await.map_err(Error::from_store)?.size;
                if r.start >= size || r.start >= r.end {
                    return Err(Error::BadRange { start: r.start, end: r.end });
                }
                Some(GetRange::Bounded(r.start..r.end.min(size)))
            }
            None => None,
        };
        let got = self
            .store
            .get_opts(&key, GetOptions { range, ..GetOptions::default() })
            .await
            .map_err(Error::from_store)?;
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
