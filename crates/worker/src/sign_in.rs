//! Runs as an identity. A run names an identity; before its first segment its
//! browser session is signed in: from the identity's saved session when it is
//! active, else by the identity's LOGIN workflow, run first in the same session
//! with the identity's credentials as its inputs (and one-time codes from its
//! TOTP secret), whose session is then saved, sealed, for the runs after it.

use std::sync::Arc;

use runner::StorageState;
use serde_json::{Map, Value};
use store::seal::Sealer;
use store::{IdentitySecrets, Store, VersionRef};
use tokio_util::sync::CancellationToken;

/// The input a LOGIN run's code inputs start with: replaced by a fresh code as the
/// segment reading them starts, so never typed.
const CODE_PLACEHOLDER: &str = "000000";
/// The credential holding the authenticator secret.
const TOTP_SECRET: &str = "totp_secret";

/// How a run as an identity is signed in.
pub(crate) enum SignIn {
    /// The identity's active session.
    Saved(StorageState),
    /// No session: log in first.
    Login(Box<Login>),
}

/// A LOGIN run to execute before the run it signs in.
pub(crate) struct Login {
    pub run: LoginRun,
    pub request: executor::RunRequest,
    /// The credentials' values, masked in both runs.
    pub credentials: Vec<String>,
    /// The identity's session generation when its credentials were read.
    pub generation: i64,
}

/// What the LOGIN run's record shows of what it ran.
pub(crate) struct LoginRun {
    pub workflow_id: String,
    pub version: Option<i64>,
    pub definition: String,
    /// Its inputs as reports show them: every credential masked.
    pub shown_inputs: Value,
}

/// An identity's credentials, opened.
pub(crate) struct Credentials {
    values: Map<String, Value>,
    pub codes: Option<executor::OneTimeCodes>,
    /// The identity's session generation when they were read.
    pub generation: i64,
}

impl Credentials {
    /// Every value, to be masked wherever the run reports.
    pub fn secrets(&self) -> Vec<String> {
        self.values.values().filter_map(Value::as_str).map(str::to_owned).collect()
    }
}

fn open_credentials(sealer: &Sealer, secrets: &IdentitySecrets) -> Result<Credentials, NoSignIn> {
    let identity = &secrets.identity;
    let values: Map<String, Value> = sealer
        .open(&secrets.sealed_credentials)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .ok_or_else(|| cannot_open(&identity.name))?;
    let codes = match values.get(TOTP_SECRET).and_then(Value::as_str) {
        Some(secret) => Some(
            executor::OneTimeCodes::from_base32(secret)
                .map_err(|why| format!("identity '{}': {why}", identity.name))?,
        ),
        None => None,
    };
    Ok(Credentials { values, codes, generation: secrets.generation })
}

async fn read_secrets(store: &Store, org_id: &str, identity_id: &str) -> Result<IdentitySecrets, NoSignIn> {
    match store.tenant(org_id).identity_secrets(identity_id).await {
        Ok(s) => Ok(s),
        Err(store::Error::NotFound) => Err(format!("the run's identity {identity_id} was deleted")),
        Err(e) => Err(format!("the run's identity could not be read: {e}")),
    }
}

fn cannot_open(identity: &str) -> String {
    format!("identity '{identity}': its secrets cannot be opened: is SEGUE_SECRET_KEY the server's?")
}

/// Fills the LOGIN workflow's inputs that `inputs` lacks from the credentials by name
/// (code inputs from the TOTP secret); returns them as reports show them (masked),
/// and the code inputs a person must supply (no TOTP secret: a code sent to them).
fn fill_inputs(
    document: &workflow::Workflow,
    credentials: &Credentials,
    inputs: &mut Map<String, Value>,
    identity: &str,
    workflow: &str,
) -> Result<(Map<String, Value>, Vec<String>), NoSignIn> {
    let mut shown = Map::new();
    let mut deferred = Vec::new();
    for parameter in &document.input_parameters {
        let name = &parameter.name;
        if inputs.contains_key(name) {
            continue;
        }
        let value = match credentials.values.get(name) {
            // The authenticator secret signs in for good: workflows get its codes only.
            Some(_) if name == TOTP_SECRET => continue,
            Some(value) => value.clone(),
            None if credentials.codes.is_some() && executor::CODE_INPUTS.contains(&name.as_str()) => {
                Value::from(CODE_PLACEHOLDER)
            }
            // A code sent by SMS or e-mail: a person supplies it while the login waits.
            None if executor::CODE_INPUTS.contains(&name.as_str()) => {
                deferred.push(name.clone());
                continue;
            }
            None if parameter.required && parameter.default_value.as_ref().is_none_or(Value::is_null) => {
                return Err(format!(
                    "identity '{identity}' has no credential '{name}', which LOGIN workflow '{workflow}' needs"
                ));
            }
            None => continue,
        };
        inputs.insert(name.clone(), value);
        shown.insert(name.clone(), Value::from(engine::MASK));
    }
    Ok((shown, deferred))
}

/// A run of a LOGIN workflow as an identity is the identity's login: the inputs it
/// was not given are filled from the identity's credentials. The credentials, for
/// the run to mask and to type its codes.
pub(crate) async fn for_login_run(
    store: &Store,
    sealer: &Sealer,
    org_id: &str,
    identity_id: &str,
    document: &workflow::Workflow,
    inputs: &mut Map<String, Value>,
) -> Result<LoginCredentials, NoSignIn> {
    let secrets = read_secrets(store, org_id, identity_id).await?;
    let credentials = open_credentials(sealer, &secrets)?;
    // The identity's account only: given values for its credentials would sign
    // another account in and save that session as the identity's.
    if let Some(name) = inputs.keys().find(|name| credentials.values.contains_key(*name)) {
        return Err(format!(
            "input '{name}' is a credential of identity '{}': a login as the identity takes it from the identity",
            secrets.identity.name
        ));
    }
    let (_, deferred) = fill_inputs(document, &credentials, inputs, &secrets.identity.name, &document.name)?;
    Ok(LoginCredentials { credentials, deferred })
}

/// What a LOGIN run as an identity is given: the credentials, and the code inputs
/// a person supplies while it waits.
pub(crate) struct LoginCredentials {
    pub credentials: Credentials,
    pub deferred: Vec<String>,
}

/// Why a run cannot sign in, for its `LOGIN_FAILED` error (never a credential's value).
pub(crate) type NoSignIn = String;

pub(crate) async fn prepare(
    store: &Store,
    sealer: &Sealer,
    org_id: &str,
    identity_id: &str,
    cancel: CancellationToken,
) -> Result<SignIn, NoSignIn> {
    let tenant = store.tenant(org_id);
    let secrets = read_secrets(store, org_id, identity_id).await?;
    let identity = &secrets.identity;
    let saved = secrets.sealed_session.as_ref().and_then(|sealed| {
        let opened = sealer.open(sealed).ok().and_then(|text| serde_json::from_str::<Value>(&text).ok());
        opened.and_then(|json| StorageState::from_json(json).ok())
    });
    // A saved session that cannot be opened (another key) is as good as none: log in again.
    if let Some(state) = saved {
        return Ok(SignIn::Saved(state));
    }
    let workflow = tenant
        .login_workflow_of(identity)
        .await
        .map_err(|e| format!("identity '{}': its LOGIN workflow could not be read: {e}", identity.name))??;
    let version = tenant
        .get_version(&workflow.id, VersionRef::Latest)
        .await
        .map_err(|e| format!("LOGIN workflow '{}': no version to run ({e})", workflow.name))?;
    let Some(document) = workflow::check(&version.definition).workflow else {
        return Err(format!("LOGIN workflow '{}': its latest version is not a valid workflow", workflow.name));
    };
    let credentials = open_credentials(sealer, &secrets)?;
    let mut inputs = Map::new();
    let (shown, deferred) = fill_inputs(&document, &credentials, &mut inputs, &identity.name, &workflow.name)?;
    let prepared = engine::inputs::prepare_deferring(&document, &inputs, &deferred).map_err(|errors| {
        // Names only: a message about a value could show it.
        let names: Vec<String> = errors.into_iter().map(|e| e.name).collect();
        format!("identity '{}': credentials {names:?} do not fit LOGIN workflow '{}'", identity.name, workflow.name)
    })?;
    let mut request = executor::RunRequest::new(Arc::new(document), prepared, cancel);
    request.one_time_codes = credentials.codes.clone();
    request.deferred_inputs = deferred;
    let values = credentials.secrets();
    let run = LoginRun {
        workflow_id: workflow.id,
        version: version.version,
        definition: version.definition,
        shown_inputs: Value::Object(shown),
    };
    Ok(SignIn::Login(Box::new(Login { run, request, credentials: values, generation: credentials.generation })))
}
