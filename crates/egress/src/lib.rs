//! Where a run's browser and runner may connect to.
//!
//! Everything a sandboxed run sends to the network leaves through one door: an
//! HTTP proxy (`Proxy`) inside segue, reached over a Unix socket, which resolves
//! the name itself, checks every address against the `Policy` and connects only
//! to the address it checked (a name cannot be re-resolved to somewhere else
//! between check and use). By default only public addresses are reachable;
//! loopback, private, link-local and the cloud metadata address are refused, and
//! so are the service's own ports whatever the policy allows. Each refusal is
//! kept as a `Denial`, which the executor turns into the segment's
//! `EGRESS_DENIED` failure.

mod address;
mod policy;
mod proxy;

pub use address::{Class, classify};
pub use policy::{Allowed, Denial, Policy, Reason};
pub use proxy::Proxy;
