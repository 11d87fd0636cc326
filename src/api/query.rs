//! Query parameters: the list filters and limit/offset paging with absolute next/previous
//! links, as PostHog's lists have them.

use std::num::IntErrorKind;

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::fields::NULL_CHARACTERS;
use crate::links::Links;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// The decoded query string of a request.
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Refuses what a lenient decoder would quietly change: percent-escapes that are not
    /// UTF-8 (decoded, they would turn into U+FFFD and match nothing) and null characters,
    /// which DRF's filters refuse too.
    pub fn parse(req: &HttpRequest) -> Result<Query> {
        Self::from_string(req.query_string())
    }

    pub fn from_string(raw: &str) -> Result<Query> {
        if percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .is_err()
        {
            return Err(Error::body(
                "parse_error",
                "The query string is not valid UTF-8.",
            ));
        }
        let pairs = actix_web::web::Query::<Vec<(String, String)>>::from_query(raw)
            .map_err(|_| Error::body("parse_error", "The query string is malformed."))?
            .into_inner();
        if let Some((name, _)) = pairs
            .iter()
            .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            return Err(Error::invalid(
                name.replace('\0', ""),
                NULL_CHARACTERS,
                "Null characters are not allowed.",
            ));
        }
        Ok(Query { pairs })
    }

    /// The last value of `name`; an empty value counts as absent.
    pub fn get(&self, name: &str) -> Option<String> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A non-negative integer parameter: digits only, as the document's `integer` reads, so
    /// not ` 5` or `+5`. Digits past `i64::MAX` read as `i64::MAX`: still a valid number,
    /// which `page` clamps, not a 400.
    pub fn count(&self, name: &str) -> Result<Option<i64>> {
        let raw = self.pairs.iter().rev().find(|(k, _)| k == name);
        match raw.map(|(_, v)| v.as_str()) {
            None | Some("") => Ok(None),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if v.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
                Err(e) if *e.kind() == IntErrorKind::PosOverflow && !v.starts_with('+') => {
                    Ok(Some(i64::MAX))
                }
                _ => Err(Error::invalid(
                    name,
                    "invalid_input",
                    "A valid non-negative integer is required.",
                )),
            },
        }
    }

    /// `limit`, when given: at least 1, as the document says of every `limit`.
    pub fn limit(&self) -> Result<Option<i64>> {
        match self.count("limit")? {
            Some(0) => Err(Error::invalid(
                "limit",
                "invalid_input",
                "Ensure this value is greater than or equal to 1.",
            )),
            limit => Ok(limit),
        }
    }

    /// `limit` (default 100, clamped to 1000; at least 1) and `offset` (default 0).
    pub fn page(&self) -> Result<Page> {
        let limit = self.limit()?.map_or(DEFAULT_LIMIT, |n| n.min(MAX_LIMIT));
        let offset = self.count("offset")?.unwrap_or(0);
        Ok(Page { limit, offset })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

#[derive(Serialize)]
struct Paginated<T: Serialize> {
    count: i64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<T>,
}

impl Page {
    /// The list response: `count`, `next`, `previous` (keeping the other parameters) and
    /// `results`.
    pub fn respond<T: Serialize>(
        self,
        req: &HttpRequest,
        links: &Links,
        count: i64,
        results: Vec<T>,
    ) -> HttpResponse {
        let pager = Pager::new(self, req, links);
        // About 1.5 KB a task with its latest run.
        let hint = 256 + 1536 * results.len();
        super::json(
            actix_web::http::StatusCode::OK,
            &Paginated {
                count,
                next: pager.next(count),
                previous: pager.previous(),
                results,
            },
            hint,
        )
    }
}

/// A list's `next` and `previous` links, from what the request asked; it owns what it
/// needs, so a list can be written on a database thread.
pub struct Pager {
    pub page: Page,
    /// The absolute URL of the list, without its query.
    url: String,
    /// The query's other parameters, encoded, each followed by `&`.
    kept: String,
}

impl Pager {
    pub fn new(page: Page, req: &HttpRequest, links: &Links) -> Pager {
        let mut kept = String::new();
        if !req.query_string().is_empty() {
            let pairs =
                actix_web::web::Query::<Vec<(String, String)>>::from_query(req.query_string())
                    .map(|q| q.into_inner())
                    .unwrap_or_default();
            for (k, v) in pairs.iter().filter(|(k, _)| k != "limit" && k != "offset") {
                kept.push_str(&format!("{}={}&", encode(k), encode(v)));
            }
        }
        Pager {
            page,
            url: links.absolute(req.path()),
            kept,
        }
    }

    fn link(&self, offset: i64) -> String {
        format!(
            "{}?{}limit={}&offset={offset}",
            self.url, self.kept, self.page.limit
        )
    }

    pub fn next(&self, count: i64) -> Option<String> {
        let Page { limit, offset } = self.page;
        (offset.saturating_add(limit) < count).then(|| self.link(offset + limit))
    }

    pub fn previous(&self) -> Option<String> {
        let Page { limit, offset } = self.page;
        (offset > 0).then(|| self.link((offset - limit).max(0)))
    }

    /// Writes what precedes the results: `{"count":…,"next":…,"previous":…,"results":[`.
    pub fn write_head(&self, out: &mut Vec<u8>, count: i64) -> Result<()> {
        #[derive(Serialize)]
        struct Head {
            count: i64,
            next: Option<String>,
            previous: Option<String>,
        }
        serde_json::to_writer(
            &mut *out,
            &Head {
                count,
                next: self.next(count),
                previous: self.previous(),
            },
        )
        .map_err(Error::internal)?;
        out.pop(); // the closing brace
        out.extend_from_slice(b",\"results\":[");
        Ok(())
    }
}

/// Percent-encodes a query component.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
