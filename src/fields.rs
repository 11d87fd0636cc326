//! Reading fields of a JSON request body with DRF-style errors: each check names the field
//! (`attr`, nested with `__`) and the error code a PostHog client expects.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// A field as found in the body: absent, explicitly null, or a checked value.
pub enum Field<T> {
    Missing,
    Null,
    Present(T),
}

/// A checked field and the name errors about it carry.
pub struct Checked<T> {
    attr: String,
    field: Field<T>,
}

impl<T> Checked<T> {
    /// The field must be present and not null.
    pub fn required(self) -> Result<T> {
        match self.field {
            Field::Present(v) => Ok(v),
            Field::Missing => Err(Error::invalid(
                self.attr,
                "required",
                "This field is required.",
            )),
            Field::Null => Err(null(self.attr)),
        }
    }

    /// The field may be absent, but not null.
    pub fn optional(self) -> Result<Option<T>> {
        match self.field {
            Field::Present(v) => Ok(Some(v)),
            Field::Missing => Ok(None),
            Field::Null => Err(null(self.attr)),
        }
    }

    /// The field may be absent (`None`) or null (`Some(None)`).
    pub fn nullable(self) -> Option<Option<T>> {
        match self.field {
            Field::Present(v) => Some(Some(v)),
            Field::Missing => None,
            Field::Null => Some(None),
        }
    }

    /// Either `required` or `optional`, as the caller's mode says.
    pub fn required_if(self, required: bool) -> Result<Option<T>> {
        if required {
            self.required().map(Some)
        } else {
            self.optional()
        }
    }
}

/// DRF's code for a string holding U+0000, which its text fields and filters refuse.
pub const NULL_CHARACTERS: &str = "invalid_input";

fn null(attr: String) -> Error {
    Error::invalid(attr, "null", "This field may not be null.")
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// The fields of one JSON object, with the attr prefix of its place in the body.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Value>) -> Fields<'a> {
        Fields {
            map,
            prefix: String::new(),
        }
    }

    /// The fields of an object nested at `prefix` (e.g. `artifacts__0`).
    pub fn nested(map: &'a Map<String, Value>, prefix: String) -> Fields<'a> {
        Fields { map, prefix }
    }

    pub fn attr(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}__{name}", self.prefix)
        }
    }

    fn get<T>(&self, name: &str, check: impl FnOnce(&'a Value) -> Result<T>) -> Result<Checked<T>> {
        let field = match self.map.get(name) {
            None => Field::Missing,
            Some(Value::Null) => Field::Null,
            Some(v) => Field::Present(check(v)?),
        };
        Ok(Checked {
            attr: self.attr(name),
            field,
        })
    }

    /// A string of at most `max` characters; blank (empty or whitespace) only when allowed.
    pub fn text(
        &self,
        name: &str,
        max: Option<usize>,
        allow_blank: bool,
    ) -> Result<Checked<String>> {
        let attr = self.attr(name);
        self.get(name, |v| {
            let Value::String(s) = v else {
                return Err(Error::invalid(attr, "invalid_input", "Not a valid string."));
            };
            if s.contains('\0') {
                return Err(Error::invalid(
                    attr,
                    NULL_CHARACTERS,
                    "Null characters are not allowed.",
                ));
            }
            if !allow_blank && s.trim().is_empty() {
                return Err(Error::invalid(
                    attr,
                    "blank",
                    "This field may not be blank.",
                ));
            }
            if let Some(max) = max
                && s.chars().count() > max
            {
                return Err(Error::invalid(
                    attr,
                    "max_length",
                    format!("Ensure this field has no more than {max} characters."),
                ));
            }
            Ok(s.clone())
        })
    }

    /// One of `choices`.
    pub fn choice(&self, name: &str, choices: &[&str]) -> Result<Checked<String>> {
        let attr = self.attr(name);
        self.get(name, |v| match v {
            Value::String(s) if choices.contains(&s.as_str()) => Ok(s.clone()),
            other => {
                let shown = match other {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                Err(Error::invalid(
                    attr,
                    "invalid_choice",
                    format!("\"{shown}\" is not a valid choice."),
                ))
            }
        })
    }

    /// An integer, given as a JSON integer or a string of digits. A number with a zero
    /// fraction (`12.0`) is an integer too, to JSON Schema and to DRF alike.
    pub fn integer(&self, name: &str) -> Result<Checked<i64>> {
        let attr = self.attr(name);
        self.get(name, |v| {
            let n = match v {
                // Past the range of i64 it saturates, like a count in a query: too large, not
                // malformed.
                Value::Number(n) => n.as_i64().or_else(|| {
                    let f = n.as_f64()?;
                    (f.fract() == 0.0).then_some(f as i64)
                }),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            n.ok_or_else(|| Error::invalid(attr, "invalid_input", "A valid integer is required."))
        })
    }

    /// Any JSON value (null is reported as null).
    pub fn any(&self, name: &str) -> Result<Checked<&'a Value>> {
        self.get(name, Ok)
    }

    /// A JSON object.
    pub fn object(&self, name: &str) -> Result<Checked<&'a Map<String, Value>>> {
        let attr = self.attr(name);
        self.get(name, |v| match v {
            Value::Object(m) => Ok(m),
            other => Err(not_a_dict(attr, other)),
        })
    }

    /// A JSON list.
    pub fn list(&self, name: &str) -> Result<Checked<&'a Vec<Value>>> {
        let attr = self.attr(name);
        self.get(name, |v| match v {
            Value::Array(items) => Ok(items),
            other => Err(Error::invalid(
                attr,
                "not_a_list",
                format!(
                    "Expected a list of items but got type \"{}\".",
                    type_name(other)
                ),
            )),
        })
    }
}

pub fn not_a_dict(attr: impl Into<String>, v: &Value) -> Error {
    Error::invalid(
        attr,
        "not_a_dict",
        format!(
            "Expected a dictionary of items but got type \"{}\".",
            type_name(v)
        ),
    )
}
