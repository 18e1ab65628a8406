//! The isolation case must exercise every method of `store::Tenant`: this reads
//! the store's source for the methods `Tenant` has and compares them with the
//! case's list, so a new tenant method cannot go untested across organizations.

use std::collections::BTreeSet;

use libtest_mimic::Failed;

use crate::cases::ISOLATED_TENANT_METHODS;

/// Methods of `Tenant` that read no tenant data, so there is nothing to isolate.
const NOT_DATA: &[&str] = &["org_id"];

pub fn tenant_methods_are_all_covered() -> Result<(), Failed> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut methods = BTreeSet::new();
    for entry in std::fs::read_dir(&src)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            methods.extend(tenant_methods(&std::fs::read_to_string(&path)?));
        }
    }
    let listed: BTreeSet<String> = ISOLATED_TENANT_METHODS.iter().map(|m| (*m).to_owned()).collect();
    let missing: Vec<_> = methods.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&methods).collect();
    if methods.is_empty() || !missing.is_empty() || !stale.is_empty() {
        return Err(format!(
            "ISOLATED_TENANT_METHODS is out of date: add {missing:?} (and exercise them in \
             organizations_are_isolated), remove {stale:?}"
        )
        .into());
    }
    Ok(())
}

/// Public methods declared in `impl Tenant<'_> { … }` blocks (closed by a `}` at column 0).
fn tenant_methods(source: &str) -> Vec<String> {
    let mut methods = Vec::new();
    let mut inside = false;
    for line in source.lines() {
        if line.starts_with("impl Tenant<") {
            inside = true;
        } else if line == "}" {
            inside = false;
        } else if inside {
            let declared =
                line.trim_start().strip_prefix("pub async fn ").or(line.trim_start().strip_prefix("pub fn "));
            if let Some(name) = declared.and_then(|rest| rest.split(['(', '<']).next())
                && !NOT_DATA.contains(&name)
            {
                methods.push(name.to_owned());
            }
        }
    }
    methods
}
