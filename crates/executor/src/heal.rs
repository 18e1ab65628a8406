//! Healed documents: the original workflow with compiled code in place of
//! what the agent had to do. Everything else in the document is kept as it was.

use serde_json::Value;

use crate::Heal;

/// The document with each healed segment's `deterministic` replaced; `None`
/// when no segment could be healed.
pub fn healed_document(document: &Value, heals: &[Heal]) -> Option<Value> {
    let mut healed = document.clone();
    let mut changed = false;
    for heal in heals {
        if let (Ok(code), Some(segment)) = (&heal.code, healed["segments"].get_mut(heal.segment)) {
            segment["deterministic"] = Value::String(code.to_string());
            changed = true;
        }
    }
    changed.then_some(healed)
}

/// One line per healed or unhealable segment, for people.
pub fn notes(heals: &[Heal]) -> Vec<String> {
    heals
        .iter()
        .map(|h| match &h.code {
            Ok(_) => {
                format!("segment '{}' healed: code compiled from the agent's actions replaces the failing code", h.name)
            }
            Err(reason) => format!("segment '{}' not healed, stays agent-assisted: {reason}", h.name),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use engine::Redactor;
    use serde_json::json;

    use super::*;

    #[test]
    fn replaces_only_healed_segments() {
        let doc = json!({"name": "w", "segments": [{"name": "a", "deterministic": "old a", "extra": 1}, {"name": "b", "deterministic": "old b"}]});
        let r = Redactor::new();
        let heals = [
            Heal { segment: 0, name: "a".into(), code: Ok(r.mask("new a")) },
            Heal { segment: 1, name: "b".into(), code: Err(r.mask("no locator")) },
        ];
        let healed = healed_document(&doc, &heals).unwrap();
        assert_eq!(healed["segments"][0], json!({"name": "a", "deterministic": "new a", "extra": 1}));
        assert_eq!(healed["segments"][1]["deterministic"], "old b");
        assert!(healed_document(&doc, &heals[1..]).is_none());
        assert_eq!(notes(&heals)[1], "segment 'b' not healed, stays agent-assisted: no locator");
    }
}
