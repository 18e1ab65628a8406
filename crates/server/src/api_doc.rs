//! What the OpenAPI document says beyond the handlers' own types. The DTOs keep their
//! plain Rust types (the wire format is theirs); the types here only describe the same
//! JSON more precisely (string enums, the `oneOf` of a version, the error body, named
//! pages) so generated clients and Swagger UI's "Try it out" send and read it right.
//! `complete` then gives every operation its error responses in one place.

// Never built: each type exists for its `ToSchema` only.
#![allow(dead_code)]

use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// A run's status.
#[derive(ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Pending,
    InProgress,
    AwaitingUserInput,
    Completed,
    Failed,
    Cancelled,
    TimedOut,
}

/// A job run's status.
#[derive(ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobRunStatus {
    Pending,
    InProgress,
    AwaitingUserInput,
    Completed,
    Failed,
    Cancelled,
}

/// A job run's workflow: its run's status, `PENDING` before its turn, `SKIPPED` when it will not run.
#[derive(ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobRunStepStatus {
    Pending,
    InProgress,
    AwaitingUserInput,
    Completed,
    Failed,
    Cancelled,
    TimedOut,
    Skipped,
}

/// `PENDING` (waiting for `nextAttemptAt`), `DELIVERED` or `FAILED`.
#[derive(ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

/// Where an identity's saved session stands.
#[derive(ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionStatus {
    None,
    Active,
    Expired,
    Failed,
}

/// What kind of file a run left.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactType {
    Output,
    Download,
    Screenshot,
    Trace,
    Page,
}

/// A LOGIN workflow signs identities in; the others are `USER_DEFINED`.
#[derive(ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowType {
    Login,
    UserDefined,
}

/// What an API key may do: `admin` also manages keys.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
}

/// What started a job run.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Api,
    Schedule,
}

/// `skip`: no job run while the previous one is going; `queue`: start it anyway.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Overlap {
    Skip,
    Queue,
}

/// How a segment execution ran: its code, the agent, or the agent after the code failed.
#[derive(ToSchema)]
pub enum SegmentMode {
    #[serde(rename = "code")]
    Code,
    #[serde(rename = "agent")]
    Agent,
    #[serde(rename = "AI Fallback")]
    AiFallback,
}

/// How a segment execution ended.
#[derive(ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SegmentStatus {
    Completed,
    Failed,
}

/// The healed draft's check run with AI disabled.
#[derive(ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HealingCheckStatus {
    Pending,
    Passed,
    Failed,
}

/// A named version: the newest published one or the draft.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VersionName {
    Latest,
    Draft,
}

/// The version a run executes: `"latest"`, `"draft"` or a published version number.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum VersionSelector {
    Name(VersionName),
    Number(i64),
}

/// The draft, as a version's `version` names it.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DraftName {
    Draft,
}

/// A published version's number, or `"draft"`.
#[derive(ToSchema)]
#[serde(untagged)]
pub enum VersionLabel {
    Number(i64),
    Draft(DraftName),
}

/// Every 4xx and 5xx answer: `{"error": {"code", "message", "details"?}}`.
#[derive(ToSchema)]
#[schema(example = json!({"error": {"code": "NOT_FOUND", "message": "run not found"}}))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable, e.g. `NOT_FOUND`, `INVALID_FIELD`, `INVALID_INPUTS`,
    /// `INVALID_WORKFLOW`, `CONFLICT`, `UNAUTHORIZED`, `BAD_REQUEST`.
    pub code: String,
    /// For people; may change.
    pub message: String,
    /// More for some codes: `field` (INVALID_FIELD), `inputs` (INVALID_INPUTS),
    /// `diagnostics` (INVALID_WORKFLOW).
    #[schema(value_type = Object, required = false)]
    pub details: Option<Value>,
}

/// A page of a list: generic `Page<T>` would be named `Page_T`, which generators turn
/// into awkward class names; one named schema per item type instead.
macro_rules! pages {
    ($($name:ident => $item:ty),* $(,)?) => {$(
        #[doc = "A page of a list; `nextCursor` fetches the next one."]
        #[derive(ToSchema)]
        #[schema(rename_all = "camelCase")]
        pub struct $name {
            pub data: Vec<$item>,
            /// Pass as `cursor` for the next page; null on the last page.
            pub next_cursor: Option<String>,
        }
    )*};
}

pages! {
    WorkflowPage => crate::dto::Workflow,
    VersionPage => crate::dto::Version,
    RunPage => crate::dto::RunSummary,
    SegmentExecutionPage => crate::dto::SegmentExecution,
    ArtifactPage => crate::dto::Artifact,
    IdentityPage => crate::dto::Identity,
    JobPage => crate::jobs_dto::Job,
    JobRunPage => crate::jobs_dto::JobRun,
    SchedulePage => crate::jobs_dto::Schedule,
    WebhookPage => crate::webhooks_dto::Webhook,
    DeliveryPage => crate::webhooks_dto::Delivery,
}

/// Gives every response a description (generators and validators require one), every
/// 4xx/5xx the `ErrorBody` schema, and every operation that takes an API key its 401.
/// Done here once rather than in each handler's annotation, so none is forgotten.
pub fn complete(api: &mut OpenApi) {
    let open = utoipa::openapi::security::SecurityRequirement::default();
    for item in api.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            let public = operation.security.as_ref().is_some_and(|s| s.iter().all(|r| *r == open));
            let responses = &mut operation.responses.responses;
            if !public && !responses.contains_key("401") {
                responses.insert("401".into(), RefOr::T(error_response("no API key, or an unknown or revoked one")));
            }
            for (status, response) in responses.iter_mut() {
                let RefOr::T(response) = response else { continue };
                if response.description.is_empty() {
                    response.description = reason(status).into();
                }
                let failure = status.starts_with('4') || status.starts_with('5');
                if failure && response.content.is_empty() {
                    response.content.insert("application/json".into(), RefOr::T(error_content()));
                }
            }
        }
    }
}

fn error_content() -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build()
}

fn error_response(description: &str) -> Response {
    ResponseBuilder::new().description(description).content("application/json", error_content()).build()
}

/// The standard reason phrase, for responses whose annotation gives no description.
fn reason(status: &str) -> &'static str {
    status
        .parse::<u16>()
        .ok()
        .and_then(|code| axum::http::StatusCode::from_u16(code).ok())
        .and_then(|code| code.canonical_reason())
        .unwrap_or("response")
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    fn values<T: PartialSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).expect("schema serializes");
        let values = schema["enum"].as_array().expect("a string enum");
        values.iter().map(|v| v.as_str().expect("a string").to_owned()).collect()
    }

    /// The schema-only enums must list exactly the strings the store writes.
    #[test]
    fn enums_match_what_the_store_writes() {
        let runs: Vec<String> = store::RunStatus::ALL.iter().map(|s| s.as_str().to_owned()).collect();
        assert_eq!(values::<super::RunStatus>(), runs);
        let job_runs: Vec<String> = store::JobRunStatus::ALL.iter().map(|s| s.as_str().to_owned()).collect();
        assert_eq!(values::<super::JobRunStatus>(), job_runs);
        let steps: Vec<String> = runs.iter().cloned().chain(["SKIPPED".to_owned()]).collect();
        assert_eq!(values::<super::JobRunStepStatus>(), steps);
        for v in values::<super::WorkflowType>() {
            assert!(store::WorkflowType::parse(&v).is_some(), "{v}");
        }
        for v in values::<super::Role>() {
            assert!(store::Role::parse(&v).is_some(), "{v}");
        }
        for v in values::<super::Overlap>() {
            assert!(store::Overlap::parse(&v).is_some(), "{v}");
        }
        let sessions = [store::SessionStatus::None, store::SessionStatus::Active, store::SessionStatus::Expired];
        let sessions = sessions.into_iter().chain([store::SessionStatus::Failed]).map(|s| s.as_str().to_owned());
        assert_eq!(values::<super::SessionStatus>(), sessions.collect::<Vec<_>>());
        assert_eq!(values::<super::SegmentMode>(), ["code", "agent", "AI Fallback"]);
    }

    fn example<T: PartialSchema>() -> serde_json::Value {
        serde_json::to_value(T::schema()).expect("schema serializes")["example"].clone()
    }

    /// What Swagger UI's "Try it out" sends must be accepted as it is.
    #[test]
    fn request_examples_are_valid_requests() {
        let workflow = example::<crate::dto::CreateWorkflow>();
        let checked = workflow::check_value(&workflow["definition"]);
        assert!(checked.errors().next().is_none(), "{:?}", checked.diagnostics);
        serde_json::from_value::<crate::dto::CreateWorkflow>(workflow).expect("a CreateWorkflow");
        serde_json::from_value::<crate::dto::CreateRun>(example::<crate::dto::CreateRun>()).expect("a CreateRun");
        let webhook = example::<crate::webhooks_dto::CreateWebhook>();
        serde_json::from_value::<crate::webhooks_dto::CreateWebhook>(webhook).expect("a CreateWebhook");
    }
}
