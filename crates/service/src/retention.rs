//! Artifact retention (`--artifact-retention-days`): artifacts older than the
//! kept period lose their bytes first, then their rows, so a row never outlives
//! bytes it could still serve and a failed delete is tried again next sweep.

use std::time::Duration;

use store::Store;
use tokio_util::sync::CancellationToken;

/// Artifacts looked at per statement.
const BATCH: u32 = 500;

/// Sweeps every tenth of `keep` (between a tenth of a second and an hour) until `shutdown`.
/// Every service process with an API runs one; deletes of the same artifact by two never conflict.
pub(crate) async fn expire(store: Store, blobs: blobs::Blobs, keep: Duration, shutdown: CancellationToken) {
    let every = (keep / 10).clamp(Duration::from_millis(100), Duration::from_secs(3600));
    // Shown at 0 from the start, so a dashboard tells "nothing expired" from "retention off".
    metrics::counter!("segue_artifacts_expired_total").increment(0);
    loop {
        match sweep(&store, &blobs, keep).await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "removed artifacts older than the retention period"),
            Err(e) => tracing::warn!("artifact retention: {e}"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// One pass: how many artifacts went.
async fn sweep(store: &Store, blobs: &blobs::Blobs, keep: Duration) -> Result<u64, store::Error> {
    let keep_ms = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
    let before = store.clock().now_ms().saturating_sub(keep_ms);
    let mut expired = 0;
    loop {
        let old = store.artifacts_older_than(before, BATCH).await?;
        let mut gone = Vec::with_capacity(old.len());
        for (id, key) in &old {
            match blobs.delete(key).await {
                Ok(()) => gone.push(id.clone()),
                Err(e) => tracing::warn!(artifact = %id, "artifact retention kept a row whose bytes would not go: {e}"),
            }
        }
        let deleted = store.delete_artifacts(&gone).await?;
        metrics::counter!("segue_artifacts_expired_total").increment(deleted);
        expired += deleted;
        // A batch with failures ends the pass: the same rows would come back first.
        if old.len() < BATCH as usize || gone.len() < old.len() {
            return Ok(expired);
        }
    }
}
