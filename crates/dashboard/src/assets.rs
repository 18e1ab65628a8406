//! The embedded files. Adding a file to `assets/` means adding a line here;
//! a test fails when the two disagree.

/// One embedded file, by its path under `assets/`.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

impl Asset {
    /// A strong validator for the bytes: FNV-1a, stable across builds and
    /// platforms (std's hasher promises neither).
    pub fn etag(&self) -> String {
        let hash =
            self.bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3));
        format!("\"{hash:016x}\"")
    }
}

macro_rules! embed {
    ($($name:literal => $type:expr),* $(,)?) => {
        &[$(Asset { name: $name, content_type: $type, bytes: include_bytes!(concat!("../assets/", $name)) }),*]
    };
}

const JS: &str = "text/javascript; charset=utf-8";

pub static ASSETS: &[Asset] = embed! {
    "icon.svg" => "image/svg+xml",
    "index.html" => "text/html; charset=utf-8",
    "js/api.js" => JS,
    "js/app.js" => JS,
    "js/artifacts.js" => JS,
    "js/diagnostics.js" => JS,
    "js/dom.js" => JS,
    "js/graph.js" => JS,
    "js/inputs.js" => JS,
    "js/locate.js" => JS,
    "js/names.js" => JS,
    "js/paged.js" => JS,
    "js/pages/draft.js" => JS,
    "js/pages/identities.js" => JS,
    "js/pages/job_runs.js" => JS,
    "js/pages/jobs.js" => JS,
    "js/pages/keys.js" => JS,
    "js/pages/run.js" => JS,
    "js/pages/runs.js" => JS,
    "js/pages/webhooks.js" => JS,
    "js/pages/workflow.js" => JS,
    "js/pages/workflows.js" => JS,
    "js/run_form.js" => JS,
    "style.css" => "text/css; charset=utf-8",
};
