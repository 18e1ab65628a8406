//! The artifact store's contract, on a local folder and on the S3-compatible test
//! server when there is one (scripts/s3.sh).

use blobs::{Blobs, Error, Fetched, Location};
use futures_util::StreamExt as _;
use testkit::ArtifactStore;

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
    for kind in ArtifactStore::available() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = kind.open(dir.path());
        let file = dir.path().join("report.csv");
        std::fs::write(&file, b"0123456789").unwrap();
        let key = Blobs::key("org_1", "run_1", 1, "../../report.csv");
        assert!(!key.contains("../"), "a name cannot climb out of its run: {key}");
        blobs.put_file(&key, &file).await.unwrap();
        let whole = blobs.get(&key, None).await.unwrap();
        assert_eq!((whole.size, whole.range.clone()), (10, 0..10), "{kind:?}");
        assert_eq!(collect(whole).await, b"0123456789");
        let part = blobs.get(&key, Some(2..5)).await.unwrap();
        assert_eq!(collect(part).await, b"234", "{kind:?}");
        let tail = blobs.get(&key, Some(8..100)).await.unwrap();
        assert_eq!((tail.size, tail.range.clone()), (10, 8..10), "{kind:?}");
        assert!(matches!(blobs.get(&key, Some(10..12)).await, Err(Error::BadRange { .. })), "{kind:?}");
        blobs.delete(&key).await.unwrap();
        assert!(matches!(blobs.get(&key, None).await, Err(Error::NotFound(_))), "{kind:?}");
        assert!(matches!(blobs.get(&key, Some(0..2)).await, Err(Error::NotFound(_))), "{kind:?}");
        blobs.delete(&key).await.expect("deleting what is gone is fine");
    }
}

/// A file bigger than one upload piece goes up in pieces and comes back the same.
#[tokio::test]
async fn a_large_file_goes_up_in_pieces_and_comes_back_whole() {
    for kind in ArtifactStore::available() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = kind.open(dir.path());
        let file = dir.path().join("big.bin");
        let content: Vec<u8> = (0..(20u32 << 20)).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        std::fs::write(&file, &content).unwrap();
        let key = Blobs::key("org_1", "run_1", 1, "big.bin");
        blobs.put_file(&key, &file).await.unwrap();
        let whole = blobs.get(&key, None).await.unwrap();
        assert_eq!(whole.size, content.len() as u64, "{kind:?}");
        assert!(collect(whole).await == content, "{kind:?}: the bytes differ");
        let middle = blobs.get(&key, Some(9_000_000..9_000_100)).await.unwrap();
        assert_eq!(collect(middle).await, &content[9_000_000..9_000_100], "{kind:?}");
        blobs.delete(&key).await.unwrap();
    }
}

#[test]
fn a_store_is_a_folder_or_an_s3_bucket_with_a_prefix() {
    assert_eq!("/var/segue/artifacts".parse::<Location>().unwrap(), Location::Local("/var/segue/artifacts".into()));
    assert_eq!(
        "s3://my-bucket/segue/prod/".parse::<Location>().unwrap(),
        Location::S3 { bucket: "my-bucket".into(), prefix: "segue/prod".into() }
    );
    assert_eq!(
        "s3://my-bucket".parse::<Location>().unwrap(),
        Location::S3 { bucket: "my-bucket".into(), prefix: String::new() }
    );
    for bad in ["", "s3://", "s3://My_Bucket/x", "s3://b/x", "gs://bucket/x", "s3://bucket/a/../b"] {
        let error = bad.parse::<Location>().expect_err(bad).to_string();
        assert!(error.contains("artifact store"), "{bad}: {error}");
    }
}

/// What a store is opened with may hold credentials: its Debug form does not show them.
#[test]
fn an_s3_store_does_not_print_its_credentials() {
    let settings = vec![
        ("aws_access_key_id".to_owned(), "AKIDSEGUETEST".to_owned()),
        ("aws_secret_access_key".to_owned(), "very-secret-key".to_owned()),
        ("aws_endpoint_url".to_owned(), "http://127.0.0.1:9".to_owned()),
    ];
    let blobs = Blobs::s3("bucket", "prefix", &settings).unwrap();
    let shown = format!("{blobs:?}");
    assert!(!shown.contains("very-secret-key") && !shown.contains("AKIDSEGUETEST"), "{shown}");
}

/// A store is checked by writing to it: a bucket that does not exist fails the check.
#[tokio::test]
async fn a_store_that_cannot_be_written_fails_its_check() {
    for kind in ArtifactStore::available() {
        let dir = tempfile::tempdir().unwrap();
        kind.open(dir.path()).check().await.unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        if matches!(kind, ArtifactStore::S3 { .. }) {
            let missing = Blobs::s3("segue-no-such-bucket", "x", &kind.s3_settings()).unwrap();
            assert!(missing.check().await.is_err(), "a missing bucket passed the check");
        }
    }
}
