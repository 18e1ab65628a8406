//! `Tenant`: one organization's view of the store.
//!
//! Every operation on a tenant's data (workflows, versions and drafts, runs and
//! their segments, API keys) is a method of `Tenant`, which carries the
//! organization's id and filters every statement by it. Callers cannot pass an
//! `org_id` by hand, so they cannot forget it or pass the wrong one; a row of
//! another organization is indistinguishable from a missing one (`NotFound`).
//! Only cross-tenant operations (org creation, key authentication, the queue,
//! metrics) stay on `Store`.

use crate::Store;

/// The store as seen by one organization. Cheap: two borrows.
#[derive(Clone, Copy)]
pub struct Tenant<'s> {
    pub(crate) store: &'s Store,
    pub(crate) org_id: &'s str,
}

impl Store {
    /// The handle through which everything of organization `org_id` is read and written.
    pub fn tenant<'s>(&'s self, org_id: &'s str) -> Tenant<'s> {
        Tenant { store: self, org_id }
    }
}

impl Tenant<'_> {
    /// The organization this handle is scoped to.
    pub fn org_id(&self) -> &str {
        self.org_id
    }
}
