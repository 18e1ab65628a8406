//! The worker's browser: one Chromium shared by its runs (each run still has
//! a runner process of its own, so killing a run's JavaScript never touches
//! another run). Started on first use, restarted when it has died.

use runner::{BrowserHost, Options, Runner};
use tokio::sync::Mutex;

pub struct SharedBrowser {
    options: Options,
    /// `false`: every run launches its own Chromium (slower, fully separate).
    shared: bool,
    host: Mutex<Option<BrowserHost>>,
}

impl SharedBrowser {
    pub fn new(options: Options, shared: bool) -> SharedBrowser {
        SharedBrowser { options, shared, host: Mutex::new(None) }
    }

    /// A runner for one run.
    pub async fn runner(&self) -> Result<Runner, runner::Error> {
        // An operator-given browser endpoint (a browser fleet) is used as it is.
        if !self.shared || self.options.ws_endpoint.is_some() {
            return Runner::start(&self.options).await;
        }
        let mut last_error = None;
        for _ in 0..2 {
            let endpoint = {
                let mut host = self.host.lock().await;
                if !host.as_mut().is_some_and(BrowserHost::is_alive) {
                    *host = Some(BrowserHost::start(&self.options).await?);
                }
                host.as_ref().expect("started above").ws_endpoint().to_owned()
            };
            match Runner::start(&Options { ws_endpoint: Some(endpoint), ..self.options.clone() }).await {
                Ok(runner) => return Ok(runner),
                Err(e) => {
                    tracing::warn!("connecting to the shared browser failed ({e}); restarting it");
                    *self.host.lock().await = None;
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.expect("two attempts failed"))
    }
}
