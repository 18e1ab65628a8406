//! Self-healing: from an agent's successful trace, deterministic Playwright
//! code for the segment, so the next run needs no AI.
//!
//! Each action becomes the locator chosen when it happened (data-testid →
//! aria-label → name → role and name → text) with the reference's reliability
//! pattern; typed text equal to an input becomes `parameters.NAME`; each output
//! is read from the structural selector where the agent's value appeared and
//! parsed to its declared type. When something cannot be expressed, healing
//! says why and the segment stays agent-assisted.

use serde_json::{Map, Value};
use workflow::{ParamType, Segment};

use crate::trace::Trace;

/// Deterministic code for `segment`, or why it cannot be written.
pub fn compile(
    segment: &Segment,
    trace: &Trace,
    outputs: &Map<String, Value>,
    inputs: &Map<String, Value>,
) -> Result<String, String> {
    let mut lines = Vec::new();
    for action in trace.actions.iter().filter(|a| a.ok) {
        let locator = action.locator.as_ref().and_then(|l| l["code"].as_str());
        let has_ref = action.args.get("ref").is_some_and(|r| !r.is_null());
        let needs_locator =
            has_ref || matches!(action.tool.as_str(), "click" | "fill" | "select_option" | "upload_file");
        if needs_locator && locator.is_none() {
            return Err(format!("no stable locator was found for the element of its '{}' action", action.tool));
        }
        let el = locator.unwrap_or("page");
        let wait = format!(
            "{{ const el = {el}; await el.waitFor({{ state: 'attached', timeout: 30000 }}); await el.scrollIntoViewIfNeeded();"
        );
        let line = match action.tool.as_str() {
            "goto" => format!("await page.goto({});", value_expr(&action.args["url"], segment, inputs)),
            "click" => format!("{wait} await el.click(); }}"),
            "fill" => format!(
                "{wait} await el.click(); await el.fill({}); }}",
                value_expr(&action.args["value"], segment, inputs)
            ),
            "select_option" => {
                format!("{wait} await el.selectOption({}); }}", value_expr(&action.args["values"], segment, inputs))
            }
            "press" if locator.is_some() => format!("{wait} await el.press({}); }}", js(&action.args["key"])),
            "press" => format!("await page.keyboard.press({});", js(&action.args["key"])),
            "scroll" if locator.is_some() => format!("{wait} }}"),
            "scroll" => {
                format!("await page.mouse.wheel(0, {});", if action.args["direction"] == "up" { -600 } else { 600 })
            }
            "wait" => format!(
                "await page.waitForTimeout({});",
                (action.args["seconds"].as_f64().unwrap_or(1.0) * 1000.0).round()
            ),
            "upload_file" => {
                let name = action.args["parameter"].as_str().unwrap_or_default();
                format!("{wait} await el.setInputFiles(parameters[{}]); }}", js(&Value::from(name)))
            }
            other => return Err(format!("the action '{other}' has no deterministic form")),
        };
        lines.push(line);
        if matches!(action.tool.as_str(), "click" | "press" | "goto") {
            lines.push("await page.waitForLoadState('domcontentloaded');".to_owned());
        }
    }
    let mut fields = Vec::new();
    for p in &segment.output_parameters {
        let Some(value) = outputs.get(&p.name) else { continue };
        let expr = output_expr(&p.name, p.ty, value, &trace.located_outputs[&p.name], segment, inputs)?;
        lines.push(format!("const out_{} = {expr};", fields.len()));
        if p.required {
            lines.push(format!(
                "if (out_{i} === undefined || out_{i} === null || out_{i} === '' || Number.isNaN(out_{i})) throw new Error({});",
                js(&Value::from(format!("Missing required output '{}'", p.name))),
                i = fields.len()
            ));
        }
        fields.push(format!("{}: out_{}", js(&Value::from(p.name.clone())), fields.len()));
    }
    let returned = if fields.is_empty() { "{}".to_owned() } else { format!("{{ {} }}", fields.join(", ")) };
    Ok(format!("async (page, parameters) => {{ {} return {returned}; }}", lines.join(" ")))
}

/// A value the agent typed: a reference to the input it equals, or a literal.
fn value_expr(value: &Value, segment: &Segment, inputs: &Map<String, Value>) -> String {
    if let Value::String(s) = value {
        for p in &segment.input_parameters {
            let placeholder = format!("{{{{{}}}}}", p.name);
            let equals_input = inputs.get(&p.name).is_some_and(|v| {
                v.as_str() == Some(s.as_str()) || v.as_f64().zip(s.parse::<f64>().ok()).is_some_and(|(a, b)| a == b)
            });
            if *s == placeholder || (equals_input && p.ty != ParamType::Secret) {
                return format!("String(parameters[{}])", js(&Value::from(p.name.clone())));
            }
        }
    }
    js(value)
}

/// Code reading one output from the page.
fn output_expr(
    name: &str,
    ty: ParamType,
    value: &Value,
    located: &Value,
    segment: &Segment,
    inputs: &Map<String, Value>,
) -> Result<String, String> {
    // An output that merely repeats an input needs no page.
    if let Some(p) =
        segment.input_parameters.iter().find(|p| inputs.get(&p.name) == Some(value) && p.ty != ParamType::Secret)
    {
        return Ok(format!("parameters[{}]", js(&Value::from(p.name.clone()))));
    }
    let (Some(selector), Some(text)) = (located["selector"].as_str(), located["text"].as_str()) else {
        return Err(format!("the value of output '{name}' could not be located on the page"));
    };
    let read = format!(
        "((await page.locator({}).first().textContent({{ timeout: 30000 }})) ?? '').replace(/\\s+/g, ' ').trim()",
        js(&Value::from(selector))
    );
    match (ty, value) {
        (ParamType::Number, Value::Number(_)) => Ok(format!(
            "Number(((({read}).match(/-?\\d[\\d,]*(?:\\.\\d+)?/) ?? [])[0] ?? '').replace(/,/g, '') || NaN)"
        )),
        (ParamType::Boolean, Value::Bool(b)) => {
            Ok(format!("({read}) === {}", js(&Value::from(if *b { text } else { "" }))))
        }
        (_, Value::String(s)) if text == s => Ok(read),
        (_, Value::String(s)) => match text.find(s.as_str()) {
            // The value is part of the element's text ("Top product: X"): keep the constant frame.
            Some(at) => Ok(format!(
                "({read}).replace(new RegExp({}), '')",
                js(&Value::from(
                    format!("^{}|{}$", regex_escape(&text[..at]), regex_escape(&text[at + s.len()..]))
                        .trim_matches('|')
                        .to_owned()
                ))
            )),
            None => Err(format!("the page text for output '{name}' does not contain its value")),
        },
        _ => Err(format!("output '{name}' of type {} cannot be read from the page", ty.as_str())),
    }
}

fn js(v: &Value) -> String {
    v.to_string()
}

fn regex_escape(s: &str) -> String {
    s.chars().map(|c| if "\\^$.|?*+()[]{}/".contains(c) { format!("\\{c}") } else { c.to_string() }).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::trace::ActionRecord;

    fn segment() -> Segment {
        let doc = json!({"name": "w", "startSegmentName": "s", "segments": [{"name": "s", "type": "ui", "prompt": "p",
            "inputParameters": [{"name": "q", "type": "string"}],
            "outputParameters": [{"name": "title", "type": "string"}, {"name": "price", "type": "number", "required": false}],
            "deterministic": null, "next": null}]});
        workflow::check_value(&doc).workflow.unwrap().segments[0].clone()
    }

    fn action(tool: &str, args: Value, locator: Option<&str>) -> ActionRecord {
        ActionRecord {
            tool: tool.into(),
            args,
            result: "Done.".into(),
            ok: true,
            locator: locator.map(|c| json!({"code": c})),
        }
    }

    #[test]
    fn actions_become_locators_and_typed_inputs_become_parameters() {
        let trace = Trace {
            actions: vec![
                action("fill", json!({"ref": "e3", "value": "mug"}), Some("page.getByTestId(\"search-input\")")),
                action("press", json!({"ref": "e3", "key": "Enter"}), Some("page.getByTestId(\"search-input\")")),
            ],
            located_outputs: json!({
                "title": {"selector": "[data-testid=\"product-card\"] h3.product-title", "text": "Stainless Mug"},
                "price": {"selector": "[data-testid=\"product-card\"] div.cost", "text": "USD 18.99"}}),
            ..Trace::default()
        };
        let outputs = json!({"title": "Stainless Mug", "price": 18.99}).as_object().unwrap().clone();
        let inputs = json!({"q": "mug"}).as_object().unwrap().clone();
        let code = compile(&segment(), &trace, &outputs, &inputs).unwrap();
        assert!(code.contains("await el.fill(String(parameters[\"q\"]))"), "{code}");
        assert!(
            !code.contains("'mug'") && !code.contains("\"mug\"") && !code.contains("Stainless"),
            "no run-specific text: {code}"
        );
        assert!(code.contains("page.locator(\"[data-testid=\\\"product-card\\\"] div.cost\")"), "{code}");
        assert!(workflow::js::parse_function(&code).is_ok(), "valid JavaScript: {code}");
    }

    #[test]
    fn what_cannot_be_expressed_is_said() {
        let trace = Trace { actions: vec![action("click", json!({"ref": "e9"}), None)], ..Trace::default() };
        let err = compile(&segment(), &trace, &Map::new(), &Map::new()).unwrap_err();
        assert_eq!(err, "no stable locator was found for the element of its 'click' action");
        let outputs = json!({"title": "Somewhere"}).as_object().unwrap().clone();
        let err = compile(&segment(), &Trace::default(), &outputs, &Map::new()).unwrap_err();
        assert_eq!(err, "the value of output 'title' could not be located on the page");
    }
}
