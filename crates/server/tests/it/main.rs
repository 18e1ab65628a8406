//! The REST API through real HTTP on port 0, on a SQLite store, with workers
//! and the demo site in the same process for runs that execute.

mod support;

mod artifacts;
mod auth;
mod dashboard;
mod events;
mod fairness;
mod hostile;
mod identities;
mod jobs;
mod nesting;
mod openapi_client;
mod runs;
mod webhooks;
mod workflows;
