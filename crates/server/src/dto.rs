//! The API's JSON shapes (camelCase) and their conversion from store rows.
//! Store types stay free of serialization; this is the boundary.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// RFC 3339 in UTC with milliseconds, e.g. `2026-01-01T00:00:00.123Z`: always the same shape.
fn seconds(ms: i64) -> f64 {
    // Limits are whole milliseconds, far below 2^53: the conversion is exact.
    #[allow(clippy::cast_precision_loss)]
    let s = ms as f64 / 1000.0;
    s
}

pub(crate) fn time(ms: i64) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    at.format(FORMAT).unwrap_or_default()
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    pub id: String,
    pub name: String,
    pub source_provider: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = crate::api_doc::WorkflowType)]
    pub ty: String,
    pub description: Option<String>,
    /// The newest published version number.
    pub latest_version: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(format = DateTime)]
    pub deleted_at: Option<String>,
    /// The latest published workflow document (only on single-workflow responses).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub definition: Option<Value>,
}

impl Workflow {
    pub fn from_store(w: store::Workflow, definition: Option<Value>) -> Workflow {
        Workflow {
            id: w.id,
            name: w.name,
            source_provider: w.source_provider,
            ty: w.ty.as_str().into(),
            description: w.description,
            latest_version: w.latest_version,
            created_at: time(w.created_at),
            updated_at: time(w.updated_at),
            deleted_at: w.deleted_at.map(time),
            definition,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({
    "name": "Greeting",
    "description": "Says hello to a name",
    "definition": {
        "name": "Greeting",
        "startSegmentName": "greet",
        "inputParameters": [{"name": "who", "type": "string", "required": true, "description": "Whom to greet"}],
        "outputParameters": [{"name": "greeting", "type": "string", "required": true, "description": "The greeting"}],
        "segments": [{
            "name": "greet", "type": "logic", "prompt": null,
            "inputParameters": [{"name": "who", "type": "string", "required": true, "description": "Whom to greet"}],
            "outputParameters": [{"name": "greeting", "type": "string", "required": true, "description": "The greeting"}],
            "deterministic": "async (page, parameters) => ({ greeting: `Hello, ${parameters.who}` })",
            "next": null, "router": null
        }]
    }
}))]
pub struct CreateWorkflow {
    /// 1 to 200 characters, no NUL.
    pub name: String,
    /// Up to 200 characters, no NUL.
    pub source_provider: Option<String>,
    /// Default `USER_DEFINED`.
    #[serde(rename = "type", default, deserialize_with = "non_null")]
    #[schema(value_type = crate::api_doc::WorkflowType, required = false)]
    pub ty: Option<String>,
    /// Up to 10,000 characters, no NUL.
    pub description: Option<String>,
    /// A workflow document (see the schema reference).
    #[serde(deserialize_with = "required")]
    #[schema(value_type = Object)]
    pub definition: Value,
}

/// Absent fields stay as they are; `null` clears `sourceProvider` or `description`
/// and is refused (422) for the other fields, which cannot be cleared.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWorkflow {
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = String, required = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub source_provider: Option<Option<String>>,
    #[serde(rename = "type", default, deserialize_with = "non_null")]
    #[schema(value_type = crate::api_doc::WorkflowType, required = false)]
    pub ty: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// A new document publishes a new version.
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = Object, required = false)]
    pub definition: Option<Value>,
}

/// Distinguishes `"field": null` (Some(None)) from a missing field (None).
pub(crate) fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A field that may be left out but not sent as `null` (absent: `None`).
/// Without this, serde reads `null` as absent and the request silently changes nothing.
pub(crate) fn non_null<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)?
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("must not be null (leave the field out instead)"))
}

/// A required field whose type would otherwise take `null` as a value (`Value`).
pub(crate) fn required<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Option::<T>::deserialize(d)?.ok_or_else(|| serde::de::Error::custom("must not be null"))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PutDraft {
    #[serde(deserialize_with = "required")]
    #[schema(value_type = Object)]
    pub definition: Value,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    pub workflow_id: String,
    /// The version number, or `"draft"`.
    #[schema(value_type = crate::api_doc::VersionLabel)]
    pub version: Value,
    #[schema(value_type = Object)]
    pub definition: Value,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// For a draft written by self-healing: why, from which run, and its check without AI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healing: Option<Healing>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Healing {
    /// One line per segment healed or left agent-assisted.
    pub notes: Vec<String>,
    /// The run whose AI fallbacks were compiled into this draft.
    pub from_run_id: String,
    /// The draft run with AI disabled on that run's inputs.
    #[schema(value_type = crate::api_doc::HealingCheckStatus)]
    pub check_status: String,
    pub check_message: Option<String>,
}

impl Version {
    pub fn from_store(v: store::Version) -> Version {
        Version {
            workflow_id: v.workflow_id,
            version: v.version.map_or_else(|| Value::from("draft"), Value::from),
            definition: serde_json::from_str(&v.definition).unwrap_or(Value::Null),
            created_at: time(v.created_at),
            healing: v.healing.map(|h| Healing {
                notes: h.notes,
                from_run_id: h.from_run,
                check_status: h.check_status,
                check_message: h.check_message,
            }),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"inputs": {"who": "Ada"}, "version": "latest", "waitSeconds": 30}))]
pub struct CreateRun {
    /// Input values by name; converted to the declared types.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub inputs: serde_json::Map<String, Value>,
    /// `"latest"` (default), `"draft"` or a version number.
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = crate::api_doc::VersionSelector, required = false)]
    pub version: Option<Value>,
    /// Marks a test run (filterable).
    #[serde(default)]
    pub test: bool,
    /// Wait up to this many seconds (max 300, and never past the server's request
    /// timeout) for the run to finish; 200 with the finished run when it does.
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = f64, required = false)]
    pub wait_seconds: Option<f64>,
    /// Attempts allowed if a worker is lost mid-run (default 1: never re-run).
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = i64, required = false)]
    pub max_attempts: Option<i64>,
    /// Time limit for each segment execution, at most the server's (default: the server's).
    pub segment_timeout_seconds: Option<f64>,
    /// Time limit for the whole run, at most the server's (default: the server's).
    pub run_timeout_seconds: Option<f64>,
    /// What the run leaves besides its outputs: `{"screenshots": "end" | "every-segment" | "off",
    /// "trace": "off" | "on" | "on-failure"}`; defaults `end` and `off`.
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = Object, required = false)]
    pub artifacts: Option<Value>,
    /// Run signed in as this identity: from its saved session, or after its LOGIN
    /// workflow ran first in the same browser when it has none.
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = String, required = false)]
    pub identity_id: Option<String>,
    /// Inputs a person supplies while the run waits (`AWAITING_USER_INPUT`), when the
    /// first segment reading one is reached: `POST /v1/runs/{id}/inputs`.
    #[serde(default)]
    pub deferred_inputs: Vec<String>,
    /// How long the run waits for each deferred input (default 600, at most 86400).
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = f64, required = false)]
    pub input_timeout_seconds: Option<f64>,
}

/// Why a run or a segment execution failed; `code` is listed in docs/errors.md.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = RunError)]
pub struct RunErrorDto {
    pub segment_name: Option<String>,
    pub code: String,
    pub message: String,
}

impl From<store::RunError> for RunErrorDto {
    fn from(e: store::RunError) -> RunErrorDto {
        RunErrorDto { segment_name: e.segment_name, code: e.code, message: e.message }
    }
}

/// What a run and a run in a list share.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunFields {
    pub id: String,
    pub workflow_id: String,
    /// `null` when the run executed the draft.
    pub workflow_version: Option<i64>,
    #[schema(value_type = crate::api_doc::RunStatus)]
    pub status: String,
    pub current_segment_name: Option<String>,
    /// Secret inputs are redacted.
    #[schema(value_type = Object)]
    pub inputs: Value,
    pub error: Option<RunErrorDto>,
    pub test: bool,
    pub attempts: i64,
    pub max_attempts: i64,
    /// The time limits this run asked for; `null`: the worker's own.
    pub segment_timeout_seconds: Option<f64>,
    pub run_timeout_seconds: Option<f64>,
    /// Whether any segment completed by AI fallback.
    pub ai_fallback: bool,
    /// Whether self-healing saved the workflow's draft from this run.
    pub healed_draft: bool,
    /// Model tokens used by the run's agent segments.
    pub input_tokens: i64,
    pub output_tokens: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    #[schema(format = DateTime)]
    pub completed_at: Option<String>,
    /// The identity the run is signed in as.
    pub identity_id: Option<String>,
    /// The LOGIN run that signed the identity in for this run, when it had no saved session.
    pub login_run_id: Option<String>,
    pub deferred_inputs: Vec<String>,
    /// While the status is `AWAITING_USER_INPUT`: `{"name", "type", "description", "options", "expiresAt"}`
    /// (`options`: the values allowed, or null).
    #[schema(value_type = Option<Object>)]
    pub awaiting_input: Option<Value>,
    /// The job run it is a workflow run of.
    pub job_run_id: Option<String>,
}

impl From<store::Run> for RunFields {
    fn from(r: store::Run) -> RunFields {
        RunFields {
            id: r.id,
            workflow_id: r.workflow_id,
            workflow_version: r.workflow_version,
            status: r.status.as_str().into(),
            current_segment_name: r.current_segment,
            inputs: r.inputs,
            error: r.error.map(Into::into),
            test: r.test,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            segment_timeout_seconds: r.limits.segment_ms.map(seconds),
            run_timeout_seconds: r.limits.run_ms.map(seconds),
            ai_fallback: r.ai_fallback,
            healed_draft: r.healed_draft,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            created_at: time(r.created_at),
            started_at: r.started_at.map(time),
            completed_at: r.completed_at.map(time),
            identity_id: r.identity_id,
            login_run_id: r.login_run_id,
            deferred_inputs: r.deferred_inputs,
            job_run_id: r.job_run_id,
            awaiting_input: r.awaiting_input.map(|a| {
                let expires = a["expiresAtMs"].as_i64().map(time);
                serde_json::json!({"name": a["name"], "type": a["type"], "description": a["description"],
                    "options": a["options"], "expiresAt": expires})
            }),
        }
    }
}

/// A run with its outputs.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    #[serde(flatten)]
    pub fields: RunFields,
    #[schema(value_type = Option<Object>)]
    pub outputs: Option<Value>,
    /// On creation only: lints for how the run was asked for (inputs asking for
    /// credentials of a run as an identity), `{severity, code, location, message}`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<Value>,
}

impl From<store::Run> for Run {
    fn from(mut r: store::Run) -> Run {
        let outputs = r.outputs.take();
        Run { fields: r.into(), outputs, warnings: Vec::new() }
    }
}

/// A run in a list: its outputs' size instead of the outputs (`GET /v1/runs/{id}` has them).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    #[serde(flatten)]
    pub fields: RunFields,
    /// Bytes of the outputs as JSON; `null` while the run has none.
    pub outputs_size: Option<i64>,
}

impl From<store::RunSummary> for RunSummary {
    fn from(s: store::RunSummary) -> RunSummary {
        RunSummary { fields: s.run.into(), outputs_size: s.outputs_size }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SegmentExecution {
    pub segment_name: String,
    /// The run's attempt that executed it (1 unless a lost worker's run was re-queued).
    pub attempt: i64,
    /// 1 for the attempt's first segment execution, counting loops.
    pub sequence: i64,
    #[schema(value_type = crate::api_doc::SegmentMode)]
    pub mode: String,
    #[schema(value_type = crate::api_doc::SegmentStatus)]
    pub status: String,
    #[schema(format = DateTime)]
    pub started_at: String,
    pub duration_ms: i64,
    pub error: Option<RunErrorDto>,
    /// Code logs, then the agent's turns and actions (secrets masked).
    pub logs: Vec<String>,
    /// For an `AI Fallback`: the deterministic code's error the agent recovered from.
    pub fallback_error: Option<RunErrorDto>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
}

impl From<store::SegmentExecution> for SegmentExecution {
    fn from(s: store::SegmentExecution) -> SegmentExecution {
        SegmentExecution {
            segment_name: s.segment_name,
            attempt: s.attempt,
            sequence: s.sequence,
            mode: s.mode,
            status: s.status,
            started_at: time(s.started_at),
            duration_ms: s.duration_ms,
            error: s.error.map(Into::into),
            logs: s.logs,
            fallback_error: s.fallback_error.map(Into::into),
            input_tokens: s.tokens.map(|t| t.0),
            output_tokens: s.tokens.map(|t| t.1),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    #[schema(value_type = crate::api_doc::Role)]
    pub role: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Only in the response that creates the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl ApiKey {
    pub fn from_store(k: store::ApiKey, key: Option<String>) -> ApiKey {
        ApiKey { id: k.id, name: k.name, role: k.role.as_str().into(), created_at: time(k.created_at), key }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiKey {
    /// 1 to 200 characters, no NUL.
    pub name: String,
    /// Default `member`.
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = crate::api_doc::Role, required = false)]
    pub role: Option<String>,
}

/// A page of a list, newest first.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T: ToSchema> {
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> Page<T> {
    pub fn from_store<S>(page: store::Page<S>, f: impl FnMut(S) -> T) -> Page<T> {
        Page { data: page.items.into_iter().map(f).collect(), next_cursor: page.next_cursor }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// From a previous page's `nextCursor`.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn request(&self) -> Result<store::PageRequest, crate::error::ApiError> {
        let limit = self.limit.unwrap_or(store::PageRequest::DEFAULT_LIMIT);
        if !(1..=store::PageRequest::MAX_LIMIT).contains(&limit) {
            return Err(crate::error::ApiError::bad_request(format!(
                "limit must be between 1 and {}",
                store::PageRequest::MAX_LIMIT
            )));
        }
        Ok(store::PageRequest { limit, cursor: self.cursor.clone() })
    }
}

/// Credentials by name (`username`, `password`, `totp_secret`, …): strings, written
/// only. No answer ever shows a value.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct Credentials(pub serde_json::Map<String, Value>);

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateIdentity {
    /// 1 to 200 characters, unique in the organization.
    pub name: String,
    /// The site the credentials are for: LOGIN workflows of the same source provider log in with them.
    pub source_provider: String,
    /// `{"username": "…", "password": "…", "totp_secret": "BASE32…"}`: string values, written only.
    #[serde(deserialize_with = "required")]
    #[schema(value_type = Object)]
    pub credentials: Credentials,
    /// The LOGIN workflow that logs in as this identity (default: the organization's
    /// only LOGIN workflow with the same source provider).
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = String, required = false)]
    pub login_workflow_id: Option<String>,
    /// How long a saved session is used before logging in again: 1 second to 365 days, default 12 hours.
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = i64, required = false)]
    pub session_ttl_seconds: Option<i64>,
}

/// Absent fields stay as they are. New `credentials` replace all the old ones and
/// forget the saved session; `loginWorkflowId: null` goes back to the default.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateIdentity {
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = String, required = false)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = String, required = false)]
    pub source_provider: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = Object, required = false)]
    pub credentials: Option<Credentials>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub login_workflow_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = i64, required = false)]
    pub session_ttl_seconds: Option<i64>,
}

/// An identity: its credentials by name only, and where its saved session stands.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub id: String,
    pub name: String,
    pub source_provider: String,
    pub login_workflow_id: Option<String>,
    pub credential_names: Vec<String>,
    pub session_ttl_seconds: f64,
    pub session: IdentitySession,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentitySession {
    #[schema(value_type = crate::api_doc::SessionStatus)]
    pub status: &'static str,
    #[schema(format = DateTime)]
    pub saved_at: Option<String>,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

impl From<store::Identity> for Identity {
    fn from(i: store::Identity) -> Identity {
        Identity {
            id: i.id,
            name: i.name,
            source_provider: i.source_provider,
            login_workflow_id: i.login_workflow_id,
            credential_names: i.credential_names,
            session_ttl_seconds: seconds(i.session_ttl_ms),
            session: IdentitySession {
                status: i.session_status.as_str(),
                saved_at: i.session_saved_at.map(time),
                expires_at: i.session_expires_at.map(time),
            },
            created_at: time(i.created_at),
            updated_at: time(i.updated_at),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_times_as_rfc3339() {
        assert_eq!(super::time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(super::time(1_767_225_600_123), "2026-01-01T00:00:00.123Z");
        assert_eq!(super::time(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}

/// A file a run left.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    pub id: String,
    pub run_id: String,
    pub workflow_id: String,
    #[serde(rename = "type")]
    #[schema(value_type = crate::api_doc::ArtifactType)]
    pub kind: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub segment_name: Option<String>,
    /// Left by a test run.
    pub test: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<store::Artifact> for Artifact {
    fn from(a: store::Artifact) -> Artifact {
        Artifact {
            id: a.id,
            run_id: a.run_id,
            workflow_id: a.workflow_id,
            kind: a.kind,
            name: a.name,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
            segment_name: a.segment_name,
            test: a.test,
            created_at: time(a.created_at),
        }
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateLink {
    /// How long the link works: 1 second to 7 days, default 15 minutes.
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = i64, required = false)]
    pub expires_in_seconds: Option<i64>,
}

/// A link to an artifact's content that works without an API key until it expires.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub url: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
}
