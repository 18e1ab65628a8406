use std::time::Instant;

use engine::{Masked, Redactor};
use runner::Browser;
use serde_json::{Map, Value};
use workflow::{ParamType, Segment};

use crate::llm::{self, Message, Provider, Request, SentToolCall};
use crate::trace::{ActionRecord, Trace, Turn};
use crate::{prompts, tools};

#[derive(Debug, Clone)]
pub struct Settings {
    /// Browser actions allowed per segment.
    pub max_actions: u32,
    /// `complete` calls with invalid outputs answered before giving up.
    pub max_invalid_completes: u32,
    /// Replies without any tool call tolerated before giving up.
    pub max_idle_replies: u32,
    /// Longer snapshots are cut, to bound what each turn costs.
    pub max_snapshot_chars: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { max_actions: 25, max_invalid_completes: 3, max_idle_replies: 2, max_snapshot_chars: 40_000 }
    }
}

pub struct Agent {
    provider: Provider,
    settings: Settings,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent").field("provider", self.provider.config()).field("settings", &self.settings).finish()
    }
}

/// One segment for the agent to complete.
pub struct Task<'a> {
    pub segment: &'a Segment,
    /// The segment's prompt with `{{name}}` substituted (secrets kept as placeholders).
    pub prompt: &'a str,
    /// The segment's inputs with real values; `file` inputs as paths on disk.
    pub parameters: &'a Map<String, Value>,
    pub redactor: &'a Redactor,
}

pub struct Outcome {
    /// The outputs `complete` returned, or why the agent could not finish.
    pub result: Result<Map<String, Value>, String>,
    pub trace: Trace,
}

impl Agent {
    pub fn new(config: llm::Config, settings: Settings) -> Agent {
        Agent { provider: Provider::new(config), settings }
    }

    /// Runs the loop. `Err` only when the browser runner itself failed.
    pub async fn run(&self, task: Task<'_>, runner: &mut impl Browser) -> Result<Outcome, runner::Error> {
        let mut trace = Trace::default();
        let result = self.drive(&task, runner, &mut trace).await?;
        Ok(Outcome { result, trace })
    }

    async fn drive(
        &self,
        task: &Task<'_>,
        runner: &mut impl Browser,
        trace: &mut Trace,
    ) -> Result<Result<Map<String, Value>, String>, runner::Error> {
        let segment = task.segment;
        let tools = tools::all(&segment.output_parameters);
        let mask = |s: &str| task.redactor.mask(s);
        let system = mask(&prompts::system(segment));
        let (page, image_png_base64) = self.observe(runner, task, trace).await?;
        let mut messages = vec![Message::User {
            text: mask(&format!("{}\n\n{page}", prompts::task(task.prompt, segment, task.parameters))),
            image_png_base64,
        }];
        let (mut invalid_completes, mut idle_replies) = (0, 0);
        loop {
            let request = Request { system: system.clone(), messages: messages.clone(), tools: tools.clone() };
            let asked = Instant::now();
            let reply = match self.provider.complete(&request).await {
                Ok(r) => r,
                Err(e) => return Ok(Err(mask(&e.to_string()).into_inner())),
            };
            let took = asked.elapsed();
            trace.model_time += took;
            trace.input_tokens += reply.usage.input_tokens;
            trace.output_tokens += reply.usage.output_tokens;
            let text = reply.text.as_deref().map(mask);
            let sent_calls: Vec<SentToolCall> = reply
                .tool_calls
                .iter()
                .map(|c| SentToolCall {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    arguments: task.redactor.mask_value(&c.arguments),
                })
                .collect();
            trace.turns.push(Turn {
                text: text.as_ref().map(|t| t.as_str().to_owned()),
                tool_calls: sent_calls.iter().map(|c| (c.name.clone(), (*c.arguments).clone())).collect(),
                usage: reply.usage,
                duration: took,
            });
            messages.push(Message::Assistant { text, tool_calls: sent_calls });
            if reply.tool_calls.is_empty() {
                idle_replies += 1;
                if idle_replies > self.settings.max_idle_replies {
                    return Ok(Err("the model stopped calling tools without completing the step".into()));
                }
                messages.push(Message::User {
                    text: mask("Call one of the tools: act on the page, complete or fail."),
                    image_png_base64: None,
                });
                continue;
            }
            let mut acted = false;
            for call in &reply.tool_calls {
                let answer = match call.name.as_str() {
                    tools::COMPLETE => match tools::validate_complete(&segment.output_parameters, &call.arguments) {
                        Ok(outputs) => {
                            // Found now, while the page shows them: healing compiles extraction code from it.
                            trace.located_outputs = runner.locate(&outputs).await?;
                            return Ok(Ok(outputs));
                        }
                        Err(reason) => {
                            invalid_completes += 1;
                            if invalid_completes > self.settings.max_invalid_completes {
                                return Ok(Err(format!(
                                    "the agent's outputs were invalid {invalid_completes} times; last: {}",
                                    mask(&reason)
                                )));
                            }
                            mask(&format!("Invalid outputs: {reason}. Call complete again with corrected arguments."))
                        }
                    },
                    tools::FAIL => {
                        let reason = call.arguments["reason"].as_str().unwrap_or("no reason given");
                        return Ok(Err(format!("the agent gave up: {}", mask(reason))));
                    }
                    action => {
                        if trace.actions.len() as u32 >= self.settings.max_actions {
                            return Ok(Err(format!(
                                "the agent used its budget of {} actions without completing the step",
                                self.settings.max_actions
                            )));
                        }
                        acted = true;
                        self.act(runner, task, trace, action, &call.arguments).await?
                    }
                };
                messages.push(Message::ToolResult { call_id: call.id.clone(), content: answer });
            }
            if acted {
                let (page, image_png_base64) = self.observe(runner, task, trace).await?;
                messages.push(Message::User { text: mask(&page), image_png_base64 });
            }
        }
    }

    /// The page as text (to be masked into a message) and, for vision models, a
    /// screenshot with the elements holding secrets painted over by the runner,
    /// also kept in the trace (the run's artifacts show what the model saw).
    async fn observe(
        &self,
        runner: &mut impl Browser,
        task: &Task<'_>,
        trace: &mut Trace,
    ) -> Result<(String, Option<String>), runner::Error> {
        let screenshot =
            self.provider.config().vision.then(|| runner::Screenshot { hide: task.redactor.secret_values() });
        let observation = runner.observe(screenshot, false).await?;
        let text = prompts::observation(&observation, task.redactor, self.settings.max_snapshot_chars);
        if let Some(png) = &observation.screenshot_png_base64
            && trace.screenshots.len() < crate::trace::MAX_SCREENSHOTS
        {
            trace.screenshots.push(png.clone());
        }
        Ok((text, observation.screenshot_png_base64))
    }

    /// Performs one action and returns what to tell the model.
    async fn act(
        &self,
        runner: &mut impl Browser,
        task: &Task<'_>,
        trace: &mut Trace,
        tool: &str,
        args: &Value,
    ) -> Result<Masked, runner::Error> {
        let mut real = substitute(args, task);
        let mut refused = None;
        if tool == "upload_file" {
            let parameter = args["parameter"].as_str().unwrap_or_default();
            let declared = task.segment.input_parameters.iter().any(|p| p.name == parameter && p.ty == ParamType::File);
            match task.parameters.get(parameter).and_then(Value::as_str) {
                Some(path) if declared => real["path"] = Value::String(path.to_owned()),
                _ => refused = Some(format!("Failed: '{parameter}' is not a file input of this step.")),
            }
        }
        let (answer, ok, locator) = match refused {
            Some(answer) => (answer, false, None),
            None => match runner.act(tool, &real).await? {
                Ok(done) => (format!("Done. The page is now at {}.", done.url), true, done.locator),
                Err(message) => (format!("Failed: {}", first_line(&message)), false, None),
            },
        };
        let answer = task.redactor.mask(&answer);
        trace.actions.push(ActionRecord {
            tool: tool.into(),
            args: task.redactor.mask_value(args).into_inner(),
            result: answer.as_str().to_owned(),
            ok,
            locator,
        });
        Ok(answer)
    }
}

/// Replaces `{{name}}` in string arguments with the segment's input values:
/// this is how the model types secrets it never sees.
fn substitute(args: &Value, task: &Task<'_>) -> Value {
    match args {
        Value::String(s) => {
            let mut out = s.clone();
            for p in &task.segment.input_parameters {
                if let Some(v) = task.parameters.get(&p.name) {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    out = out.replace(&format!("{{{{{}}}}}", p.name), &text);
                }
            }
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, task)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), substitute(v, task))).collect()),
        other => other.clone(),
    }
}

/// Playwright errors carry a call log after the first line; the model needs the first.
fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message)
}
