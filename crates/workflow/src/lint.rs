//! The reference's authoring checklist as warnings. Each lint has a stable
//! code documented in `docs/lints.md`; lints never make a document invalid.

use std::collections::BTreeSet;

use crate::diagnostic::Diagnostic;
use crate::js::{self, FunctionFacts};
use crate::model::{Next, ParamType, Parameter, Segment, Workflow};
use crate::prompt;

/// Every lint code with its one-line doc, in the order they are reported.
pub const LINTS: &[(&str, &str)] = &[
    (
        "router-reads-foreign-value",
        "a router reads a value that is not an output of its own segment; routers only receive their segment's outputs",
    ),
    (
        "undeclared-parameter",
        "segment code reads `parameters.X` but X is not in the segment's inputParameters, so it is always undefined",
    ),
    (
        "undeclared-prompt-variable",
        "a prompt uses `{{X}}` but X is not in the segment's inputParameters, so it is never substituted",
    ),
    (
        "navigation-with-interaction",
        "a segment both navigates (`page.goto`) and interacts; split navigation into its own segment",
    ),
    ("wait-for-response", "a segment calls `waitForResponse`; read recorded responses in a network segment instead"),
    (
        "networkidle-after-goto",
        "a segment waits for 'networkidle' after `goto`; the page load is already awaited, wait for a specific element instead",
    ),
    (
        "credential-not-secret",
        "a parameter named like a credential (password, token, api key, otp, totp, mfa) is not typed `secret`, so it is not masked",
    ),
    (
        "credential-with-identity",
        "the workflow runs as an identity but declares a login credential (username, password, otp_code, totp_secret, mfa_code, login email) as an input; the identity signs the session in before the first segment",
    ),
    (
        "required-input-from-optional-output",
        "a required input is only produced by optional outputs or inputs upstream, so the segment can fail at run time",
    ),
    ("unproduced-input", "a required input is produced by no workflow input and no segment that can run before it"),
    ("unreachable-segment", "no path from startSegmentName reaches this segment"),
    (
        "inescapable-cycle",
        "segments that loop with no path to a segment whose `next` is null; the run can only stop at the execution limit",
    ),
];

pub fn lint(w: &Workflow) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let graph = Graph::new(w);
    for (i, s) in w.segments.iter().enumerate() {
        let at = format!("segments[{i}]");
        let code_facts = s.deterministic.as_deref().and_then(|c| js::parse_function(c).ok());
        if let Next::Branch { router, .. } = &s.next {
            router_reads(&mut out, &at, s, router);
        }
        if let Some(facts) = &code_facts {
            undeclared_parameters(&mut out, &at, s, facts);
            navigation_rules(&mut out, &at, s, facts);
        }
        if let Some(p) = &s.prompt {
            for ph in prompt::placeholders(p) {
                if !s.input_parameters.iter().any(|i| i.name == ph.name) {
                    out.push(Diagnostic::warning(
                        "undeclared-prompt-variable",
                        format!("{at}.prompt"),
                        format!(
                            "prompt of segment '{}' uses {{{{{}}}}} but '{}' is not one of its inputParameters",
                            s.name, ph.name, ph.name
                        ),
                    ));
                }
            }
        }
    }
    credentials(&mut out, w);
    data_flow(&mut out, w, &graph);
    reachability(&mut out, w, &graph);
    out
}

fn router_reads(out: &mut Vec<Diagnostic>, at: &str, s: &Segment, router: &str) {
    let Ok(facts) = js::parse_function(router) else {
        return;
    };
    let Some(reads) = facts.reads.first() else {
        return;
    };
    for key in unique(reads) {
        if !s.output_parameters.iter().any(|o| &o.name == key) {
            out.push(Diagnostic::warning("router-reads-foreign-value", format!("{at}.router"), format!("router of segment '{}' reads '{key}', which is not one of its outputParameters; routers only receive their own segment's outputs", s.name)));
        }
    }
}

fn undeclared_parameters(out: &mut Vec<Diagnostic>, at: &str, s: &Segment, facts: &FunctionFacts) {
    let Some(reads) = facts.reads.get(1) else {
        return;
    };
    for key in unique(reads) {
        if !s.input_parameters.iter().any(|p| &p.name == key) {
            out.push(Diagnostic::warning(
                "undeclared-parameter",
                format!("{at}.deterministic"),
                format!(
                    "code of segment '{}' reads parameters.{key}, but '{key}' is not one of its inputParameters",
                    s.name
                ),
            ));
        }
    }
}

const INTERACTIONS: &[&str] = &[
    "click",
    "dblclick",
    "fill",
    "type",
    "press",
    "pressSequentially",
    "check",
    "uncheck",
    "selectOption",
    "setInputFiles",
    "hover",
    "tap",
    "dragTo",
    "setChecked",
];

fn navigation_rules(out: &mut Vec<Diagnostic>, at: &str, s: &Segment, facts: &FunctionFacts) {
    let location = format!("{at}.deterministic");
    let goto = facts.calls.iter().position(|c| c.method == "goto");
    if goto.is_some() && facts.calls.iter().any(|c| INTERACTIONS.contains(&c.method.as_str())) {
        out.push(Diagnostic::warning("navigation-with-interaction", &location, format!("segment '{}' navigates with page.goto and also interacts with the page; put the navigation in a segment of its own", s.name)));
    }
    if facts.calls.iter().any(|c| c.method == "waitForResponse") {
        out.push(Diagnostic::warning("wait-for-response", &location, format!("segment '{}' calls waitForResponse; read recorded responses from networkResponses in a network segment instead", s.name)));
    }
    if let Some(goto) = goto
        && facts.calls[goto..]
            .iter()
            .any(|c| c.method == "waitForLoadState" && c.first_string_arg.as_deref() == Some("networkidle"))
    {
        out.push(Diagnostic::warning("networkidle-after-goto", &location, format!("segment '{}' waits for 'networkidle' after page.goto; the load is already awaited, wait for a specific element in the next segment", s.name)));
    }
}

/// Splits `apiKey`, `api_key`, `API-KEY` into lowercase words.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn looks_like_credential(name: &str) -> bool {
    let words = words(name);
    let single = ["password", "passwd", "passcode", "pwd", "token", "apikey", "otp", "totp", "mfa", "2fa"];
    words.iter().any(|w| single.contains(&w.as_str()))
        || words.windows(2).any(|pair| pair[0] == "api" && (pair[1] == "key" || pair[1] == "secret"))
}

/// Lints for a workflow run as an identity, which is signed in before its first
/// segment: its inputs should not ask for what the identity supplies.
pub fn with_identity(w: &Workflow) -> Vec<Diagnostic> {
    let login_words = ["username", "login", "email", "user"];
    w.input_parameters
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            looks_like_credential(&p.name) || words(&p.name).iter().any(|w| login_words.contains(&w.as_str()))
        })
        .map(|(k, p)| {
            Diagnostic::warning(
                "credential-with-identity",
                format!("inputParameters[{k}]"),
                format!(
                    "input '{}' looks like a login credential, but the run is signed in as its identity before the first segment; leave it out",
                    p.name
                ),
            )
        })
        .collect()
}

fn credentials(out: &mut Vec<Diagnostic>, w: &Workflow) {
    let mut check = |params: &[Parameter], at: String| {
        for (k, p) in params.iter().enumerate() {
            if p.ty == ParamType::String && looks_like_credential(&p.name) {
                out.push(Diagnostic::warning(
                    "credential-not-secret",
                    format!("{at}[{k}].type"),
                    format!(
                        "parameter '{}' looks like a credential but is typed string; type it `secret` so it is masked",
                        p.name
                    ),
                ));
            }
        }
    };
    check(&w.input_parameters, "inputParameters".into());
    for (i, s) in w.segments.iter().enumerate() {
        check(&s.input_parameters, format!("segments[{i}].inputParameters"));
        check(&s.output_parameters, format!("segments[{i}].outputParameters"));
    }
}

fn data_flow(out: &mut Vec<Diagnostic>, w: &Workflow, graph: &Graph) {
    for (i, s) in w.segments.iter().enumerate() {
        if !graph.reachable[i] {
            continue;
        }
        let upstream = graph.can_reach(i);
        for (k, input) in s.input_parameters.iter().enumerate() {
            if !input.required || input.default_value.is_some() {
                continue;
            }
            // Each producer and whether it always yields the value.
            let mut producers: Vec<bool> = Vec::new();
            if let Some(p) = w.input_parameters.iter().find(|p| p.name == input.name) {
                producers.push(p.required || p.default_value.is_some());
            }
            for (j, t) in w.segments.iter().enumerate() {
                if upstream[j]
                    && let Some(o) = t.output_parameters.iter().find(|o| o.name == input.name)
                {
                    producers.push(o.required);
                }
            }
            let location = format!("segments[{i}].inputParameters[{k}]");
            if producers.is_empty() {
                out.push(Diagnostic::warning(
                    "unproduced-input",
                    location,
                    format!(
                        "segment '{}' requires input '{}', but no workflow input or earlier segment provides it",
                        s.name, input.name
                    ),
                ));
            } else if producers.iter().all(|always| !always) {
                out.push(Diagnostic::warning("required-input-from-optional-output", location, format!("segment '{}' requires input '{}', which is only produced as optional upstream; make the producer required or route around it", s.name, input.name)));
            }
        }
    }
}

fn reachability(out: &mut Vec<Diagnostic>, w: &Workflow, graph: &Graph) {
    for (i, s) in w.segments.iter().enumerate() {
        if !graph.reachable[i] {
            out.push(Diagnostic::warning(
                "unreachable-segment",
                format!("segments[{i}]"),
                format!("segment '{}' can never run: no path from '{}' reaches it", s.name, w.segments[w.start].name),
            ));
        }
    }
    // A reachable segment from which no terminal segment can be reached is stuck in a loop.
    let can_end = graph.can_reach_any(|j| matches!(w.segments[j].next, Next::End));
    let stuck: Vec<usize> = (0..w.segments.len()).filter(|&i| graph.reachable[i] && !can_end[i]).collect();
    if let Some(&first) = stuck.first() {
        let names: Vec<&str> = stuck.iter().map(|&i| w.segments[i].name.as_str()).collect();
        out.push(Diagnostic::warning(
            "inescapable-cycle",
            format!("segments[{first}].next"),
            format!("segments {} loop with no way to reach a segment whose next is null", names.join(", ")),
        ));
    }
}

fn unique(items: &[String]) -> BTreeSet<&String> {
    items.iter().collect()
}

struct Graph {
    edges: Vec<Vec<usize>>,
    reachable: Vec<bool>,
}

impl Graph {
    fn new(w: &Workflow) -> Graph {
        let edges: Vec<Vec<usize>> = w.segments.iter().map(|s| s.next.targets().to_vec()).collect();
        let mut reachable = vec![false; edges.len()];
        let mut stack = vec![w.start];
        while let Some(i) = stack.pop() {
            if !std::mem::replace(&mut reachable[i], true) {
                stack.extend(&edges[i]);
            }
        }
        Graph { edges, reachable }
    }

    /// `result[j]`: segment j can run before segment `target` (some path j → … → target).
    fn can_reach(&self, target: usize) -> Vec<bool> {
        self.can_reach_any(|j| self.edges[j].contains(&target))
    }

    /// `result[j]`: a path from j leads to a segment satisfying `goal` (j included).
    fn can_reach_any(&self, goal: impl Fn(usize) -> bool) -> Vec<bool> {
        let n = self.edges.len();
        let mut reaches: Vec<bool> = (0..n).map(&goal).collect();
        // Fixed point over reverse edges; workflows are small, so this is cheap.
        let mut changed = true;
        while changed {
            changed = false;
            for j in 0..n {
                if !reaches[j] && self.edges[j].iter().any(|&k| reaches[k]) {
                    reaches[j] = true;
                    changed = true;
                }
            }
        }
        reaches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_names() {
        for name in ["password", "user_password", "apiKey", "API_KEY", "otp_code", "totpSecret", "mfa", "access_token"]
        {
            assert!(looks_like_credential(name), "{name}");
        }
        for name in ["username", "search_query", "tokenizer_name", "keyboard"] {
            assert!(!looks_like_credential(name), "{name}");
        }
    }

    #[test]
    fn a_workflow_run_as_an_identity_should_not_ask_for_credentials() {
        let param = |name: &str| format!(r#"{{"name": "{name}", "type": "string"}}"#);
        let names = ["username", "password", "otp_code", "login_email", "report_name", "search_query"];
        let inputs: Vec<String> = names.iter().map(|n| param(n)).collect();
        let doc = format!(
            r#"{{"name": "w", "startSegmentName": "s", "inputParameters": [{}], "segments": [{{"name": "s", "type": "logic",
                "prompt": null, "inputParameters": [], "outputParameters": [], "deterministic": "async () => ({{}})",
                "next": null, "router": null}}]}}"#,
            inputs.join(",")
        );
        let workflow = crate::check(&doc).workflow.expect("valid");
        let flagged: Vec<String> = with_identity(&workflow).into_iter().map(|d| d.location).collect();
        assert_eq!(flagged, ["inputParameters[0]", "inputParameters[1]", "inputParameters[2]", "inputParameters[3]"]);
    }
}

#[cfg(test)]
mod docs_tests {
    /// docs/lints.md must describe every lint exactly as `LINTS` does.
    #[test]
    fn every_lint_is_documented() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/lints.md");
        let docs = std::fs::read_to_string(path).expect("docs/lints.md");
        for (code, doc) in super::LINTS {
            let row = format!("| `{code}` | {doc} |");
            assert!(docs.contains(&row), "docs/lints.md lacks the row: {row}");
        }
    }
}
