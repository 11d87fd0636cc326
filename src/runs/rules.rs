//! The rules of a run's fields: which a request may set, how `state` and `output` merge key
//! by key, when `completed_at` and `started_at` are set, and checking output against the
//! task's JSON Schema.

use rusqlite::Connection;
use serde_json::{Map, Value};

use super::status::{ENVIRONMENTS, Environment, STATUSES, Status};
use crate::db::runs::{self as db_runs, NewRun, Run, RunUpdate};
use crate::error::{Error, Result};
use crate::fields::{Fields, not_a_dict};

/// The largest `state` and `output`, in bytes of JSON: what a run keeps after every merge,
/// and so a bound on what a task list page carries for its latest run.
/// The longest `stage` and `branch`, in characters.
pub const STAGE_MAX_CHARS: usize = 100;
pub const BRANCH_MAX_CHARS: usize = 255;
pub const STATE_MAX_BYTES: usize = 1 << 20;
pub const OUTPUT_MAX_BYTES: usize = 1 << 20;

fn too_large(attr: &str, max: usize) -> Error {
    Error::invalid(
        attr,
        "max_length",
        format!("Ensure this field is no larger than {max} bytes as JSON."),
    )
}

/// Refuses stored JSON text over `max` bytes, naming the field.
fn check_text(attr: &str, json: &str, max: usize) -> Result<()> {
    if json.len() > max {
        return Err(too_large(attr, max));
    }
    Ok(())
}

/// Refuses a given value over `max` bytes as compact JSON, counted without building the
/// text. A patch is refused here before it reaches the writer; the merged result is checked
/// again where it is stored.
fn check_value(attr: &str, v: &impl serde::Serialize, max: usize) -> Result<()> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, v).map_err(Error::internal)?;
    if count.0 > max {
        return Err(too_large(attr, max));
    }
    Ok(())
}

/// Validated changes to a run. `None` leaves a field alone; `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct RunChanges {
    pub status: Option<Status>,
    pub stage: Option<Option<String>>,
    pub branch: Option<Option<String>>,
    pub error_message: Option<Option<String>>,
    /// Merged into the stored output when both are objects; otherwise replaces it.
    pub output: Option<Value>,
    /// Merged key by key into the stored state.
    pub state: Option<Map<String, Value>>,
    pub state_remove_keys: Vec<String>,
}

impl RunChanges {
    pub fn parse(body: &Map<String, Value>) -> Result<RunChanges> {
        let f = Fields::new(body);
        let status = f
            .choice("status", STATUSES)?
            .optional()?
            .map(|s| Status::of(&s));
        let stage = f.text("stage", Some(STAGE_MAX_CHARS), false)?.nullable();
        let branch = f.text("branch", Some(BRANCH_MAX_CHARS), false)?.nullable();
        let error_message = f.text("error_message", None, true)?.nullable();
        let output = f
            .any("output")?
            .nullable()
            .map(|v| v.cloned().unwrap_or(Value::Null));
        if let Some(v) = &output {
            check_value("output", v, OUTPUT_MAX_BYTES)?;
        }
        let state = f.object("state")?.optional()?.cloned();
        if let Some(m) = &state {
            check_value("state", m, STATE_MAX_BYTES)?;
        }
        let mut state_remove_keys = Vec::new();
        if let Some(items) = f.list("state_remove_keys")?.optional()? {
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(k) => state_remove_keys.push(k.to_string()),
                    None => {
                        return Err(Error::invalid(
                            format!("state_remove_keys__{i}"),
                            "invalid_input",
                            "Not a valid string.",
                        ));
                    }
                }
            }
        }
        Ok(RunChanges {
            status,
            stage,
            branch,
            error_message,
            output,
            state,
            state_remove_keys,
        })
    }

    /// Writes the change to run `pk`, merging into what is stored: inside the writer's
    /// transaction, so concurrent merges never lose a key.
    pub fn apply(&self, c: &Connection, pk: i64) -> Result<Run> {
        let (state, output) = db_runs::stored_json(c, pk)?;
        let update = RunUpdate {
            status: self.status.map(Status::as_str),
            stage: self.stage.clone(),
            branch: self.branch.clone(),
            error_message: self.error_message.clone(),
            state: self.merged_state(&state)?,
            output: self.merged_output(output.as_deref())?,
            finished: self.status.is_some_and(Status::is_terminal),
            started: self.status == Some(Status::InProgress),
        };
        db_runs::update(c, pk, &update)
    }

    /// The stored state (JSON text) after this change: merged, then keys removed. Refused
    /// when the result would pass `STATE_MAX_BYTES`: many small patches must not add up to
    /// more than one large one may.
    pub fn merged_state(&self, stored: &str) -> Result<String> {
        if self.state.is_none() && self.state_remove_keys.is_empty() {
            return Ok(stored.to_string());
        }
        let mut state = match serde_json::from_str::<Value>(stored) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        if let Some(patch) = &self.state {
            for (k, v) in patch {
                state.insert(k.clone(), v.clone());
            }
        }
        for k in &self.state_remove_keys {
            state.shift_remove(k);
        }
        let merged = Value::Object(state).to_string();
        check_text("state", &merged, STATE_MAX_BYTES)?;
        Ok(merged)
    }

    /// The stored output (JSON text or NULL) after this change, within `OUTPUT_MAX_BYTES`.
    pub fn merged_output(&self, stored: Option<&str>) -> Result<Option<String>> {
        let Some(given) = &self.output else {
            return Ok(stored.map(str::to_string));
        };
        let merged = match (
            given,
            stored.and_then(|s| serde_json::from_str::<Value>(s).ok()),
        ) {
            (Value::Null, _) => None,
            (Value::Object(patch), Some(Value::Object(mut out))) => {
                for (k, v) in patch {
                    out.insert(k.clone(), v.clone());
                }
                Some(Value::Object(out).to_string())
            }
            (other, _) => Some(other.to_string()),
        };
        if let Some(text) = &merged {
            check_text("output", text, OUTPUT_MAX_BYTES)?;
        }
        Ok(merged)
    }
}

/// The fields of `POST runs/`: all optional.
pub fn parse_new(body: &Map<String, Value>) -> Result<NewRun> {
    let f = Fields::new(body);
    let status = f.choice("status", STATUSES)?.optional()?;
    let environment = f.choice("environment", ENVIRONMENTS)?.optional()?;
    let stage = f
        .text("stage", Some(STAGE_MAX_CHARS), false)?
        .nullable()
        .flatten();
    let branch = f
        .text("branch", Some(BRANCH_MAX_CHARS), false)?
        .nullable()
        .flatten();
    let error_message = f.text("error_message", None, true)?.nullable().flatten();
    let output = f.any("output")?.nullable().flatten().map(Value::to_string);
    if let Some(text) = &output {
        check_text("output", text, OUTPUT_MAX_BYTES)?;
    }
    let state = f
        .object("state")?
        .optional()?
        .map(|m| Value::Object(m.clone()).to_string());
    if let Some(text) = &state {
        check_text("state", text, STATE_MAX_BYTES)?;
    }
    let status = status.map_or(Status::NotStarted, |s| Status::of(&s));
    let environment = environment
        .and_then(|e| Environment::parse(&e))
        .unwrap_or(Environment::Cloud);
    Ok(NewRun {
        stage,
        branch,
        error_message,
        output,
        state,
        ..new_run(status, environment)
    })
}

/// A new run with nothing but its status and environment.
pub fn new_run(status: Status, environment: Environment) -> NewRun {
    NewRun {
        status: status.as_str().into(),
        environment: environment.as_str().into(),
        finished: status.is_terminal(),
        started: status == Status::InProgress,
        ..NewRun::default()
    }
}

/// The body of `set_output/`: `{"output": {...}}`, a missing output being `{}`.
pub fn parse_output(body: &Map<String, Value>) -> Result<Value> {
    match body.get("output") {
        None => Ok(Value::Object(Map::new())),
        Some(v @ Value::Object(_)) => {
            check_value("output", v, OUTPUT_MAX_BYTES)?;
            Ok(v.clone())
        }
        Some(other) => Err(not_a_dict("output", other)),
    }
}

/// Checks `output` against the task's schema; the error names the first violation.
pub fn validate_output(schema_text: &str, output: &Value) -> Result<()> {
    let schema: Value = serde_json::from_str(schema_text).map_err(Error::internal)?;
    let validator = jsonschema::validator_for(&schema).map_err(|e| {
        Error::invalid(
            "output",
            "invalid_input",
            format!("The task's json_schema is not usable: {e}"),
        )
    })?;
    if let Some(err) = validator.iter_errors(output).next() {
        let path = err.instance_path().to_string();
        let attr = std::iter::once("output".to_string())
            .chain(
                path.split('/')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string),
            )
            .collect::<Vec<_>>()
            .join("__");
        return Err(Error::invalid(attr, "invalid_input", err.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn changes(v: Value) -> RunChanges {
        RunChanges::parse(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn state_merges_key_by_key_and_removes_keys() {
        let c = changes(json!({"state": {"b": 2, "c": 3}, "state_remove_keys": ["a"]}));
        assert_eq!(
            c.merged_state(r#"{"a":1,"b":1}"#).unwrap(),
            r#"{"b":2,"c":3}"#
        );
    }

    #[test]
    fn output_merges_objects_and_replaces_others() {
        let c = changes(json!({"output": {"y": 2}}));
        assert_eq!(
            c.merged_output(Some(r#"{"x":1}"#)).unwrap().unwrap(),
            r#"{"x":1,"y":2}"#
        );
        assert_eq!(c.merged_output(None).unwrap().unwrap(), r#"{"y":2}"#);
        let c = changes(json!({"output": null}));
        assert_eq!(c.merged_output(Some(r#"{"x":1}"#)).unwrap(), None);
        let c = changes(json!({}));
        assert_eq!(c.merged_output(Some("5")).unwrap().unwrap(), "5");
    }

    #[test]
    fn output_violations_name_the_field() {
        let schema = r#"{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}"#;
        assert!(validate_output(schema, &json!({"n": 1})).is_ok());
        let err = validate_output(schema, &json!({"n": "x"})).unwrap_err();
        match err {
            Error::Invalid { attr, .. } => assert_eq!(attr.as_deref(), Some("output__n")),
            other => panic!("{other:?}"),
        }
    }
}
