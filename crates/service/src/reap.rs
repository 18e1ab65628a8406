//! The reaper: runs whose lease expired (their worker died or lost the
//! database) are re-queued, or failed with `WORKER_LOST` once out of attempts.

use std::time::Duration;

use store::Store;
use tokio_util::sync::CancellationToken;

/// Reaps every `every` until `shutdown`. One per service process; the
/// statements are conditional, so reapers of several processes never conflict.
pub(crate) async fn reap(store: Store, every: Duration, shutdown: CancellationToken) {
    loop {
        match store.reap_expired().await {
            Ok((0, 0)) => {}
            Ok((requeued, failed)) => tracing::warn!(requeued, failed, "reaped runs whose worker was lost"),
            Err(e) => tracing::warn!("reaping expired leases failed: {e}"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
