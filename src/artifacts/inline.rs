//! Inline artifacts: content sent in the JSON body, as UTF-8 text or base64. The body is read
//! through a borrowed view where it can be, so an item costs one decoded copy beside the body.

use std::borrow::Cow;
use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Map;
use serde_json::value::RawValue;

use super::{Described, describe, too_large};
use crate::error::{Error, Result};
use crate::fields::Fields;

/// An inline item, described, and its content decoded.
pub type Item = (Described, Vec<u8>);

/// An inline upload body with each item's fields left as raw JSON text in the body.
#[derive(Deserialize)]
struct View<'a> {
    #[serde(borrow)]
    artifacts: Vec<HashMap<&'a str, &'a RawValue>>,
}

/// The items of an inline upload body, checked and decoded, read from the body's bytes
/// without building a JSON tree of the content. `None` when the body is not of the plain
/// shape this reads (not an object, no items, a null character in the content…): the
/// caller then reads it as a JSON tree with `items`, `describe` and `content`, whose errors
/// are the API's.
pub fn decoded(body: &[u8], max: u64) -> Option<Result<Vec<Item>>> {
    // A struct also deserializes from an array; the body must be an object.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let view: View = serde_json::from_slice(body).ok()?;
    if view.artifacts.is_empty() {
        return None;
    }
    let mut items = Vec::with_capacity(view.artifacts.len());
    for item in &view.artifacts {
        // Everything but the content is small: parse it into the map `describe` reads.
        let mut rest = Map::new();
        let mut text = None;
        for (name, raw) in item {
            if *name == "content" && raw.get().starts_with('"') {
                text = Some(string(raw)?);
            } else {
                rest.insert(name.to_string(), serde_json::from_str(raw.get()).ok()?);
            }
        }
        let text = text.filter(|t| !t.contains('\0'))?;
        items.push((rest, text));
    }
    Some(
        items
            .into_iter()
            .enumerate()
            .map(|(i, (rest, text))| {
                let fields = Fields::nested(&rest, format!("artifacts__{i}"));
                Ok((describe(&fields)?, decode(&fields, text, max)?))
            })
            .collect(),
    )
}

/// A JSON string's text: borrowed from the body unless it holds escapes.
fn string(raw: &RawValue) -> Option<Cow<'_, str>> {
    match serde_json::from_str::<&str>(raw.get()) {
        Ok(text) => Some(Cow::Borrowed(text)),
        Err(_) => serde_json::from_str::<String>(raw.get())
            .ok()
            .map(Cow::Owned),
    }
}

/// The decoded bytes of an inline upload item read as a JSON tree, at most `max` of them.
pub fn content(f: &Fields, max: u64) -> Result<Vec<u8>> {
    let text = f.text("content", None, true)?.required()?;
    decode(f, Cow::Owned(text), max)
}

/// The item's content as bytes, per its `content_encoding`, at most `max` of them.
fn decode(f: &Fields, text: Cow<str>, max: u64) -> Result<Vec<u8>> {
    let encoding = f
        .choice("content_encoding", ENCODINGS)?
        .nullable()
        .flatten()
        .unwrap_or_else(|| "utf-8".into());
    let bytes = if encoding == "base64" {
        base64_ignoring_whitespace(&text).ok_or_else(|| {
            Error::invalid(
                f.attr("content"),
                "invalid_input",
                "Content is not valid base64.",
            )
        })?
    } else {
        text.into_owned().into_bytes()
    };
    if bytes.len() as u64 > max {
        return Err(too_large(max));
    }
    Ok(bytes)
}

/// How many base64 characters are decoded at a time.
const QUADS: usize = 4096;

/// How an inline artifact's `content` may be encoded; `utf-8` when none is named.
pub const ENCODINGS: &[&str] = &["utf-8", "base64"];

/// Standard padded base64 with whitespace anywhere (line-wrapped MIME output), decoded into
/// one buffer. Whitespace-free runs are decoded a few KiB at a time rather than gathered
/// into a second copy of the text; that is the same as decoding the gathered text, as long
/// as padding only ends the last run.
fn base64_ignoring_whitespace(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 3);
    let mut run = [0u8; QUADS];
    let mut n = 0;
    for &b in text.as_bytes() {
        if b.is_ascii_whitespace() {
            continue;
        }
        if n == QUADS {
            if run[QUADS - 1] == b'=' {
                return None;
            }
            STANDARD.decode_vec(run, &mut out).ok()?;
            n = 0;
        }
        run[n] = b;
        n += 1;
    }
    STANDARD.decode_vec(&run[..n], &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the function must agree with: gather the text, then decode it whole.
    fn gathered(text: &str) -> Option<Vec<u8>> {
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        STANDARD.decode(compact).ok()
    }

    #[test]
    fn decoding_in_runs_agrees_with_decoding_the_gathered_text() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut cases = Vec::new();
        for len in [0, 1, 2, 3, 3071, 3072, 3073, 6143, 6144, 6145, 20_000] {
            let encoded = STANDARD.encode(&data[..len]);
            let wrapped: String = encoded
                .as_bytes()
                .chunks(76)
                .map(|l| format!("{}\r\n", std::str::from_utf8(l).unwrap()))
                .collect();
            cases.push(encoded.clone());
            cases.push(wrapped);
            cases.push(format!(" {encoded}\n"));
            cases.push(format!("{encoded}{encoded}"));
            cases.push(encoded[..encoded.len().saturating_sub(1)].to_string());
        }
        // Padding that ends a run of exactly QUADS characters, followed by more.
        let padded = STANDARD.encode([1u8; 3071]);
        assert_eq!(padded.len(), QUADS);
        cases.push(format!("{padded}AAAA"));
        cases.push(format!("{padded} \n"));
        cases.push(format!("{}A=AA", &padded[..QUADS - 4]));
        cases.push("====".into());
        cases.push("Zg=".into());
        cases.push("Zh==".into());
        for case in cases {
            assert_eq!(
                base64_ignoring_whitespace(&case),
                gathered(&case),
                "{:?}…",
                &case[..case.len().min(40)]
            );
        }
    }
}
