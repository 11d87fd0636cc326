//! The OpenAPI document as the tests read it: find the operation a request hit, check the
//! real response against the schema documented for its status, and list the route table's
//! routes from the table itself so a route cannot go undocumented.

use std::cell::RefCell;
use std::collections::BTreeSet;

use clap::Parser;
use reqwest::blocking::Response;
use serde_json::{Value, json};

/// The methods the route table uses, as OpenAPI writes them.
const METHODS: [&str; 6] = ["get", "head", "post", "put", "patch", "delete"];

/// A response as checked: status, content type and body (JSON when it is JSON).
pub struct Checked {
    pub status: u16,
    pub content_type: String,
    pub text: String,
    pub json: Value,
}

/// The document, and the operations the test has checked so far.
pub struct Document {
    pub doc: Value,
    pub seen: RefCell<BTreeSet<(String, String)>>,
}

/// A path without its trailing slash, so `/api/tasks/` and `/api/tasks` compare equal.
pub fn trim(path: &str) -> &str {
    if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    }
}

impl Document {
    pub fn new(doc: Value) -> Document {
        Document {
            doc,
            seen: RefCell::default(),
        }
    }

    /// Every documented operation, as (method, path without trailing slash).
    pub fn operations(&self) -> BTreeSet<(String, String)> {
        let mut ops = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                assert!(METHODS.contains(&method.as_str()), "{method} {path}");
                ops.insert((method.clone(), trim(path).to_string()));
            }
        }
        ops
    }

    fn operation(&self, method: &str, template: &str) -> &Value {
        let paths = self.doc["paths"].as_object().unwrap();
        let item = paths
            .iter()
            .find(|(p, _)| trim(p) == trim(template))
            .unwrap_or_else(|| panic!("{template} is not documented"))
            .1;
        item.get(method)
            .unwrap_or_else(|| panic!("{method} {template} is not documented"))
    }

    /// Checks `r`, a response to `method template`, against the document: its status is
    /// documented (or covered by `default`), its content type is one documented for it, and a
    /// JSON body matches the schema. Returns what was checked.
    pub fn check(&self, method: &str, template: &str, r: Response) -> Checked {
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let text = r.text().unwrap();
        let what = format!("{method} {template} → {status} {content_type}: {text:.400}");
        let op = self.operation(method, template);
        let responses = &op["responses"];
        let documented = responses
            .get(status.to_string())
            .or_else(|| responses.get("default"))
            .unwrap_or_else(|| panic!("status not documented: {what}"));
        let documented = self.resolve(documented);
        self.seen
            .borrow_mut()
            .insert((method.to_string(), trim(template).to_string()));
        let mut json = Value::Null;
        match documented.get("content").and_then(Value::as_object) {
            None => assert!(text.is_empty(), "a body where none is documented: {what}"),
            Some(content) => {
                let mime = content_type.split(';').next().unwrap().trim();
                let (_, media) = content
                    .iter()
                    .find(|(m, _)| *m == mime || *m == "*/*")
                    .unwrap_or_else(|| panic!("content type not documented: {what}"));
                if mime == "application/json" {
                    json = serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("not JSON ({e}): {what}"));
                    self.validate(&media["schema"], &json, &what);
                }
            }
        }
        Checked {
            status,
            content_type,
            text,
            json,
        }
    }

    /// `$ref` to `components/responses` followed once.
    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => self.doc.pointer(r.trim_start_matches('#')).unwrap(),
            None => v,
        }
    }

    /// Validates `instance` against `schema`, whose `#/components/schemas/X` references are
    /// carried along as `$defs`.
    pub fn validate(&self, schema: &Value, instance: &Value, what: &str) {
        let rewrite = |v: &Value| -> Value {
            let text = v.to_string().replace("#/components/schemas/", "#/$defs/");
            serde_json::from_str(&text).unwrap()
        };
        let mut root = json!({ "$schema": "https://json-schema.org/draft/2020-12/schema" });
        root["$defs"] = rewrite(&self.doc["components"]["schemas"]);
        root["allOf"] = json!([rewrite(schema)]);
        let validator = jsonschema::validator_for(&root).expect("the document's schemas compile");
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{what}\nbreaks the schema: {errors:#?}");
    }
}

/// Every (method, path) of the route table, as `burrow::app::route_list` records it while the
/// table registers its routes; paths without trailing slash.
pub fn route_table() -> BTreeSet<(String, String)> {
    let config = burrow::config::Cli::parse_from(["burrow"]).config;
    let mut routes = BTreeSet::new();
    for (pattern, methods) in burrow::app::route_list(&config) {
        for method in methods {
            let method = method.as_str().to_ascii_lowercase();
            assert!(METHODS.contains(&method.as_str()), "{method} {pattern}");
            routes.insert((method, trim(&pattern).to_string()));
        }
    }
    routes
}
