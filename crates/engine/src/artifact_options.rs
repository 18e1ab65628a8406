//! What a run is asked to leave behind besides its outputs: plain data, parsed
//! from flags and API requests, read by the executor that collects it.

use serde_json::{Value, json};

/// When the page is photographed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Screenshots {
    Off,
    /// At the end of the run, completed or failed.
    #[default]
    End,
    /// After every segment execution, and at the end.
    EverySegment,
}

impl Screenshots {
    pub fn parse(text: &str) -> Option<Screenshots> {
        match text {
            "off" => Some(Screenshots::Off),
            "end" => Some(Screenshots::End),
            "every-segment" => Some(Screenshots::EverySegment),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Screenshots::Off => "off",
            Screenshots::End => "end",
            Screenshots::EverySegment => "every-segment",
        }
    }
}

/// When a Playwright trace of the run is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Trace {
    #[default]
    Off,
    On,
    /// Recorded always, kept only when the run failed.
    OnFailure,
}

impl Trace {
    pub fn parse(text: &str) -> Option<Trace> {
        match text {
            "off" => Some(Trace::Off),
            "on" => Some(Trace::On),
            "on-failure" => Some(Trace::OnFailure),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Trace::Off => "off",
            Trace::On => "on",
            Trace::OnFailure => "on-failure",
        }
    }
}

/// What a run should leave behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ArtifactOptions {
    pub screenshots: Screenshots,
    pub trace: Trace,
}

impl ArtifactOptions {
    /// As stored with a run and read back by its worker.
    pub fn to_json(self) -> Value {
        json!({"screenshots": self.screenshots.as_str(), "trace": self.trace.as_str()})
    }

    /// From `{"screenshots": "end" | "every-segment" | "off", "trace": "off" | "on" | "on-failure"}`,
    /// either key optional. `Err` names the field at fault.
    pub fn from_json(value: &Value) -> Result<ArtifactOptions, String> {
        let Value::Object(fields) = value else { return Err("artifacts must be an object".into()) };
        let mut options = ArtifactOptions::default();
        for (key, given) in fields {
            let text = given.as_str();
            match key.as_str() {
                "screenshots" => {
                    options.screenshots = text
                        .and_then(Screenshots::parse)
                        .ok_or("artifacts.screenshots must be one of \"end\", \"every-segment\", \"off\"")?;
                }
                "trace" => {
                    options.trace = text
                        .and_then(Trace::parse)
                        .ok_or("artifacts.trace must be one of \"off\", \"on\", \"on-failure\"")?;
                }
                other => return Err(format!("artifacts.{other} is not a field (use screenshots and trace)")),
            }
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn options_read_back_as_written_and_name_the_field_at_fault() {
        let every = ArtifactOptions { screenshots: Screenshots::EverySegment, trace: Trace::OnFailure };
        assert_eq!(ArtifactOptions::from_json(&every.to_json()), Ok(every));
        assert_eq!(ArtifactOptions::from_json(&json!({})), Ok(ArtifactOptions::default()));
        assert!(ArtifactOptions::from_json(&json!({"trace": "always"})).unwrap_err().starts_with("artifacts.trace"));
        assert!(
            ArtifactOptions::from_json(&json!({"screenshots": 1})).unwrap_err().starts_with("artifacts.screenshots")
        );
        assert!(ArtifactOptions::from_json(&json!({"video": "on"})).unwrap_err().contains("artifacts.video"));
    }
}
