//! Structural validation: JSON text → `Workflow`, reporting every problem with
//! its JSON location rather than stopping at the first.

use serde_json::{Map, Value};

use crate::diagnostic::Diagnostic;
use crate::js;
use crate::model::{Next, ParamType, Parameter, Segment, SegmentType, Workflow};
use crate::values;

/// The document's JSON, or the `invalid-json` diagnostic.
pub fn json(text: &str) -> Result<Value, Diagnostic> {
    serde_json::from_str(text).map_err(|e| Diagnostic::error("invalid-json", "", format!("not valid JSON: {e}")))
}

/// Validates a document's structure. Returns the workflow only when no error
/// was found; `diagnostics` holds every error.
pub fn parse_value(value: &Value) -> (Option<Workflow>, Vec<Diagnostic>) {
    let mut cx = Cx::default();
    let workflow = cx.workflow(value);
    if cx.diagnostics.is_empty() { (workflow, cx.diagnostics) } else { (None, cx.diagnostics) }
}

#[derive(Default)]
struct Cx {
    diagnostics: Vec<Diagnostic>,
}

/// What a field holds, read leniently so that one bad field does not hide the
/// others.
enum Field<'v> {
    Missing,
    Null,
    Present(&'v Value),
}

fn field<'v>(obj: &'v Map<String, Value>, key: &str) -> Field<'v> {
    match obj.get(key) {
        None => Field::Missing,
        Some(Value::Null) => Field::Null,
        Some(v) => Field::Present(v),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Cx {
    fn error(&mut self, code: &'static str, location: impl Into<String>, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::error(code, location, message));
    }

    fn workflow(&mut self, value: &Value) -> Option<Workflow> {
        let Some(obj) = value.as_object() else {
            self.error("not-an-object", "", format!("a workflow must be a JSON object, got {}", kind_of(value)));
            return None;
        };
        let name = self.required_string(obj, "name", "", "the workflow");
        let start_name = self.required_string(obj, "startSegmentName", "", "the workflow");
        let input_parameters = self.parameters(obj, "inputParameters", "", ParamOwner { kind: "input", segment: None });
        let output_parameters =
            self.parameters(obj, "outputParameters", "", ParamOwner { kind: "output", segment: None });

        let segment_values: &[Value] = match field(obj, "segments") {
            Field::Present(Value::Array(items)) if !items.is_empty() => items,
            Field::Present(Value::Array(_)) => {
                self.error("no-segments", "segments", "a workflow needs at least one segment");
                &[]
            }
            Field::Present(v) => {
                self.error("wrong-type", "segments", format!("`segments` must be an array, got {}", kind_of(v)));
                &[]
            }
            Field::Missing | Field::Null => {
                self.error("missing-field", "segments", "the workflow has no `segments` array");
                &[]
            }
        };

        // Names first, so that `next` targets can be resolved in one pass.
        let names: Vec<Option<String>> =
            segment_values.iter().map(|v| v.get("name").and_then(Value::as_str).map(str::to_owned)).collect();
        for (i, name) in names.iter().enumerate() {
            let Some(name) = name else { continue };
            if let Some(first) = names[..i].iter().position(|n| n.as_deref() == Some(name)) {
                self.error(
                    "duplicate-segment",
                    format!("segments[{i}].name"),
                    format!("segment name '{name}' is already used by segments[{first}]"),
                );
            }
        }
        let segments: Vec<Option<Segment>> =
            segment_values.iter().enumerate().map(|(i, v)| self.segment(i, v, &names)).collect();

        let start = start_name.as_ref().and_then(|start| {
            let found = names.iter().position(|n| n.as_deref() == Some(start.as_str()));
            if found.is_none() && !segment_values.is_empty() {
                self.error(
                    "unknown-start",
                    "startSegmentName",
                    format!("startSegmentName '{start}' does not name any segment"),
                );
            }
            found
        });

        Some(Workflow {
            name: name?,
            start: start?,
            input_parameters: input_parameters?,
            output_parameters: output_parameters?,
            segments: segments.into_iter().collect::<Option<Vec<_>>>()?,
        })
    }

    fn required_string(&mut self, obj: &Map<String, Value>, key: &str, at: &str, owner: &str) -> Option<String> {
        let location = join(at, key);
        match field(obj, key) {
            Field::Present(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Field::Present(Value::String(_)) => {
                self.error("empty-field", location, format!("`{key}` of {owner} must not be empty"));
                None
            }
            Field::Present(v) => {
                self.error("wrong-type", location, format!("`{key}` of {owner} must be a string, got {}", kind_of(v)));
                None
            }
            Field::Missing | Field::Null => {
                self.error("missing-field", location, format!("{owner} has no `{key}`"));
                None
            }
        }
    }

    /// The `type` field of a parameter or segment, one of `all`.
    fn type_field<T>(
        &mut self,
        obj: &Map<String, Value>,
        at: &str,
        owner: &str,
        unknown_code: &'static str,
        parse: fn(&str) -> Option<T>,
        all: &[&str],
    ) -> Option<T> {
        let name = self.required_string(obj, "type", at, owner)?;
        let ty = parse(&name);
        if ty.is_none() {
            let message = format!("{owner} has type '{name}'; expected one of {}", all.join(", "));
            self.error(unknown_code, join(at, "type"), message);
        }
        ty
    }

    /// A string-or-null field; `None` inside means null or absent.
    fn optional_string(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        at: &str,
        owner: &str,
    ) -> Option<Option<String>> {
        match field(obj, key) {
            Field::Present(Value::String(s)) => Some(Some(s.clone())),
            Field::Present(v) => {
                let message = format!("`{key}` of {owner} must be a string or null, got {}", kind_of(v));
                self.error("wrong-type", join(at, key), message);
                None
            }
            Field::Missing | Field::Null => Some(None),
        }
    }

    fn parameters(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        at: &str,
        owner: ParamOwner<'_>,
    ) -> Option<Vec<Parameter>> {
        let location = join(at, key);
        let items = match field(obj, key) {
            Field::Present(Value::Array(items)) => items,
            // Absent parameter lists mean "none": the reference's minimal documents omit them.
            Field::Missing | Field::Null => return Some(Vec::new()),
            Field::Present(v) => {
                self.error("wrong-type", location, format!("`{key}` must be an array, got {}", kind_of(v)));
                return None;
            }
        };
        let mut ok = true;
        let mut params = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match self.parameter(item, &format!("{location}[{i}]"), owner) {
                Some(p) => {
                    if params.iter().any(|q: &Parameter| q.name == p.name) {
                        let message = format!("{} is declared twice", owner.describe(Some(&p.name)));
                        self.error("duplicate-parameter", format!("{location}[{i}].name"), message);
                        ok = false;
                    }
                    params.push(p);
                }
                None => ok = false,
            }
        }
        ok.then_some(params)
    }

    fn parameter(&mut self, value: &Value, at: &str, param_owner: ParamOwner<'_>) -> Option<Parameter> {
        let Some(obj) = value.as_object() else {
            let message = format!("{} must be an object, got {}", param_owner.describe(None), kind_of(value));
            self.error("wrong-type", at, message);
            return None;
        };
        let name = self.required_string(obj, "name", at, &param_owner.describe(None));
        let owner = param_owner.describe(name.as_deref());
        let ty = self.type_field(obj, at, &owner, "unknown-type", ParamType::parse, &ParamType::ALL);
        let required = match field(obj, "required") {
            Field::Present(Value::Bool(b)) => Some(*b),
            Field::Missing | Field::Null => Some(true),
            Field::Present(v) => {
                let message = format!("`required` of {owner} must be a boolean, got {}", kind_of(v));
                self.error("wrong-type", join(at, "required"), message);
                None
            }
        };
        let description = self.optional_string(obj, "description", at, &owner);
        let options = match field(obj, "options") {
            Field::Missing | Field::Null => Some(None),
            Field::Present(Value::Array(items)) => {
                let strings: Option<Vec<String>> = items.iter().map(|v| v.as_str().map(str::to_owned)).collect();
                match strings {
                    Some(s) if !s.is_empty() => Some(Some(s)),
                    Some(_) => {
                        self.error(
                            "empty-field",
                            join(at, "options"),
                            format!("`options` of {owner} is empty; use null for no restriction"),
                        );
                        None
                    }
                    None => {
                        self.error(
                            "wrong-type",
                            join(at, "options"),
                            format!("`options` of {owner} must list strings"),
                        );
                        None
                    }
                }
            }
            Field::Present(v) => {
                let message = format!("`options` of {owner} must be an array of strings or null, got {}", kind_of(v));
                self.error("wrong-type", join(at, "options"), message);
                None
            }
        };
        let default_value = match field(obj, "defaultValue") {
            Field::Missing | Field::Null => None,
            Field::Present(v) => Some(v.clone()),
        };
        let param = Parameter {
            name: name?,
            ty: ty?,
            required: required?,
            description: description?,
            default_value: None,
            options: options?,
        };
        if let Some(default) = default_value {
            // A default that could never pass validation is a bug in the document, not in the run.
            match values::check(&param, Some(&default), values::Mode::Convert) {
                Ok(v) => {
                    return Some(Parameter { default_value: v, ..param });
                }
                Err(e) => {
                    let message = format!("`defaultValue` of {owner} is invalid: {}", e.reason);
                    self.error("bad-default", join(at, "defaultValue"), message);
                    return None;
                }
            }
        }
        Some(param)
    }

    fn segment(&mut self, i: usize, value: &Value, names: &[Option<String>]) -> Option<Segment> {
        let at = format!("segments[{i}]");
        let Some(obj) = value.as_object() else {
            self.error("wrong-type", &at, format!("a segment must be an object, got {}", kind_of(value)));
            return None;
        };
        let name = self.required_string(obj, "name", &at, &format!("segments[{i}]"));
        let owner = match &name {
            Some(n) => format!("segment '{n}'"),
            None => format!("segments[{i}]"),
        };
        let ty = self.type_field(obj, &at, &owner, "unknown-segment-type", SegmentType::parse, &SegmentType::ALL);
        let prompt = self.optional_string(obj, "prompt", &at, &owner);
        let deterministic = self.optional_string(obj, "deterministic", &at, &owner);
        let inputs = self.parameters(obj, "inputParameters", &at, ParamOwner { kind: "input", segment: Some(&owner) });
        let outputs =
            self.parameters(obj, "outputParameters", &at, ParamOwner { kind: "output", segment: Some(&owner) });
        let router = self.optional_string(obj, "router", &at, &owner);

        if let (Some(ty), Some(prompt), Some(code)) = (ty, &prompt, &deterministic) {
            self.mode_rules(&at, &owner, ty, prompt.as_deref(), code.as_deref());
        }
        if let Some(Some(code)) = &deterministic
            && let Err(error) = js::parse_function(code)
        {
            let what = format!("deterministic code of {owner}");
            self.code_error(join(&at, "deterministic"), &what, "bad-deterministic", error);
        }
        let next = self.next(obj, &at, &owner, names, router.flatten());

        Some(Segment {
            name: name?,
            ty: ty?,
            prompt: prompt?,
            input_parameters: inputs?,
            output_parameters: outputs?,
            deterministic: deterministic?,
            next: next?,
        })
    }

    /// Reports code `js::parse_function` refused; `not_a_function` is the
    /// field's own code (`bad-deterministic`, `bad-router`).
    fn code_error(&mut self, location: String, what: &str, not_a_function: &'static str, error: js::Error) {
        let (code, message) = match error {
            js::Error::NotAFunction(reason) => {
                (not_a_function, format!("{what} is not a JavaScript function: {reason}"))
            }
            js::Error::TooLong { .. } => ("too-long", format!("{what} is too long: {error}")),
            js::Error::TooDeep { .. } => ("too-deeply-nested", format!("{what} is too deeply nested: {error}")),
            js::Error::AnalysisFailed(_) => ("analysis-failed", format!("{what}: {error}")),
        };
        self.error(code, location, message);
    }

    fn mode_rules(&mut self, at: &str, owner: &str, ty: SegmentType, prompt: Option<&str>, code: Option<&str>) {
        let has_prompt = prompt.is_some_and(|p| !p.trim().is_empty());
        match ty {
            SegmentType::Logic => {
                if prompt.is_some() {
                    self.error(
                        "logic-with-prompt",
                        join(at, "prompt"),
                        format!(
                            "{owner} is a logic segment, so its `prompt` must be null (logic never falls back to AI)"
                        ),
                    );
                }
                if code.is_none() {
                    self.error(
                        "missing-deterministic",
                        join(at, "deterministic"),
                        format!("{owner} is a logic segment and needs `deterministic` code"),
                    );
                }
            }
            SegmentType::Agent => {
                if code.is_some() {
                    self.error(
                        "agent-with-code",
                        join(at, "deterministic"),
                        format!("{owner} is an agent segment, so its `deterministic` must be null"),
                    );
                }
                if !has_prompt {
                    self.error(
                        "missing-prompt",
                        join(at, "prompt"),
                        format!("{owner} is an agent segment and needs a `prompt`"),
                    );
                }
            }
            SegmentType::Ui | SegmentType::Network => {
                if !has_prompt {
                    self.error(
                        "missing-prompt",
                        join(at, "prompt"),
                        format!(
                            "{owner} is a {} segment and needs a `prompt` (it drives the AI fallback)",
                            ty.as_str()
                        ),
                    );
                }
                if ty == SegmentType::Network && code.is_none() {
                    self.error(
                        "missing-deterministic",
                        join(at, "deterministic"),
                        format!("{owner} is a network segment and needs `deterministic` code"),
                    );
                }
            }
        }
    }

    fn next(
        &mut self,
        obj: &Map<String, Value>,
        at: &str,
        owner: &str,
        names: &[Option<String>],
        router: Option<String>,
    ) -> Option<Next> {
        let location = join(at, "next");
        let resolve = |cx: &mut Cx, target: &Value, location: String| -> Option<usize> {
            let Some(target) = target.as_str() else {
                cx.error(
                    "wrong-type",
                    location,
                    format!("`next` of {owner} must name segments with strings, got {}", kind_of(target)),
                );
                return None;
            };
            let found = names.iter().position(|n| n.as_deref() == Some(target));
            if found.is_none() {
                cx.error(
                    "unknown-next",
                    location,
                    format!("`next` of {owner} names '{target}', which is not a segment"),
                );
            }
            found
        };
        match field(obj, "next") {
            Field::Missing => {
                self.error("missing-field", location, format!("{owner} has no `next`; use null to end the workflow"));
                None
            }
            Field::Null | Field::Present(Value::String(_)) if router.is_some() => {
                self.error(
                    "router-without-branch",
                    join(at, "router"),
                    format!("{owner} has a `router` but its `next` is not an array; a router needs an array `next`"),
                );
                None
            }
            Field::Null => Some(Next::End),
            Field::Present(target @ Value::String(_)) => resolve(self, target, location).map(Next::One),
            Field::Present(Value::Array(items)) => {
                if items.is_empty() {
                    self.error(
                        "empty-field",
                        location,
                        format!("`next` of {owner} is an empty array; use null to end the workflow"),
                    );
                    return None;
                }
                let targets: Vec<Option<usize>> =
                    items.iter().enumerate().map(|(k, t)| resolve(self, t, format!("{location}[{k}]"))).collect();
                let Some(router) = router else {
                    self.error(
                        "branch-without-router",
                        join(at, "router"),
                        format!("{owner} has an array `next` and needs a `router` to choose"),
                    );
                    return None;
                };
                if let Err(error) = js::parse_function(&router) {
                    self.code_error(join(at, "router"), &format!("router of {owner}"), "bad-router", error);
                    return None;
                }
                Some(Next::Branch { targets: targets.into_iter().collect::<Option<Vec<_>>>()?, router })
            }
            Field::Present(v) => {
                self.error(
                    "wrong-type",
                    location,
                    format!("`next` of {owner} must be a segment name, an array of names or null, got {}", kind_of(v)),
                );
                None
            }
        }
    }
}

/// Whose parameter list is being read, for messages such as
/// "input 'q' of segment 'search'" or "workflow output 'total'".
#[derive(Clone, Copy)]
struct ParamOwner<'a> {
    kind: &'static str,
    /// How the segment is named in messages; `None` for the workflow's own lists.
    segment: Option<&'a str>,
}

impl ParamOwner<'_> {
    fn describe(self, name: Option<&str>) -> String {
        match (name, self.segment) {
            (Some(n), Some(s)) => format!("{} '{n}' of {s}", self.kind),
            (Some(n), None) => format!("workflow {} '{n}'", self.kind),
            (None, Some(s)) => format!("an {} parameter of {s}", self.kind),
            (None, None) => format!("a workflow {} parameter", self.kind),
        }
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() { key.to_owned() } else { format!("{at}.{key}") }
}
