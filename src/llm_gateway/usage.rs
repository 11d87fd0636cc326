//! Reads a model answer's token usage as it streams past: from the Server-Sent Events of a
//! streamed answer (`message_start`, `message_delta`), or from the `usage` of a whole JSON
//! message, without holding more than a line (or a bounded JSON body) in memory.

use serde_json::Value;

use crate::db::run_usage::Usage;

/// Longest SSE line read for usage; longer lines (large text deltas) are skipped.
const LINE_MAX: usize = 1 << 20;
/// Largest non-streamed answer read for usage; a larger one passes through uncounted.
const JSON_MAX: usize = 8 << 20;

enum Form {
    Events,
    Json,
    Other,
}

/// Usage gathered from an answer's bytes, fed in as they pass.
pub struct UsageReader {
    form: Form,
    buf: Vec<u8>,
    /// The current SSE line grew past `LINE_MAX`: skip to its end.
    skipping: bool,
    usage: Usage,
    seen: bool,
}

impl UsageReader {
    /// A reader for an answer of this content type.
    pub fn new(content_type: &str) -> UsageReader {
        let ct = content_type.to_ascii_lowercase();
        let form = if ct.starts_with("text/event-stream") {
            Form::Events
        } else if ct.starts_with("application/json") {
            Form::Json
        } else {
            Form::Other
        };
        UsageReader {
            form,
            buf: Vec::new(),
            skipping: false,
            usage: Usage::default(),
            seen: false,
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        match self.form {
            Form::Other => {}
            Form::Json => {
                if self.buf.len() + chunk.len() <= JSON_MAX {
                    self.buf.extend_from_slice(chunk);
                } else {
                    self.form = Form::Other;
                    self.buf = Vec::new();
                }
            }
            Form::Events => {
                let mut rest = chunk;
                while let Some(i) = rest.iter().position(|b| *b == b'\n') {
                    if !self.skipping {
                        self.buf.extend_from_slice(&rest[..i]);
                        let line = std::mem::take(&mut self.buf);
                        self.line(&line);
                    }
                    self.skipping = false;
                    self.buf.clear();
                    rest = &rest[i + 1..];
                }
                if !self.skipping {
                    if self.buf.len() + rest.len() > LINE_MAX {
                        self.skipping = true;
                        self.buf = Vec::new();
                    } else {
                        self.buf.extend_from_slice(rest);
                    }
                }
            }
        }
    }

    /// One SSE line: only `data:` lines of the two events that carry usage are parsed.
    fn line(&mut self, line: &[u8]) {
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        let Ok(event) = serde_json::from_slice::<Value>(data) else {
            return;
        };
        match event.get("type").and_then(Value::as_str) {
            Some("message_start") => {
                if let Some(u) = event.pointer("/message/usage") {
                    self.take(u);
                }
            }
            // Its counts are cumulative for the message: they replace, not add.
            Some("message_delta") => {
                if let Some(u) = event.get("usage") {
                    self.take(u);
                }
            }
            _ => {}
        }
    }

    fn take(&mut self, u: &Value) {
        let n = |k: &str| u.get(k).and_then(Value::as_i64).map(|n| n.max(0));
        let fields = [
            (n("input_tokens"), &mut self.usage.input),
            (n("output_tokens"), &mut self.usage.output),
            (n("cache_read_input_tokens"), &mut self.usage.cache_read),
            (
                n("cache_creation_input_tokens"),
                &mut self.usage.cache_creation,
            ),
        ];
        for (value, slot) in fields {
            if let Some(v) = value {
                *slot = v;
                self.seen = true;
            }
        }
    }

    /// The usage the answer reported, if it reported any.
    pub fn finish(mut self) -> Option<Usage> {
        if let Form::Json = self.form
            && let Ok(message) = serde_json::from_slice::<Value>(&self.buf)
            && let Some(u) = message.get("usage")
        {
            self.take(u);
        }
        self.seen.then_some(self.usage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_usage_is_read_across_chunk_boundaries() {
        let text = concat!(
            "event: message_start\n",
            "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25,",
            "\"cache_read_input_tokens\":7,\"output_tokens\":1}}}\n\n",
            "event: content_block_delta\n",
            "data: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"usage\"}}\n\n",
            "event: message_delta\n",
            "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\n",
        );
        for size in [1, 3, 17, text.len()] {
            let mut r = UsageReader::new("text/event-stream; charset=utf-8");
            for chunk in text.as_bytes().chunks(size) {
                r.feed(chunk);
            }
            let u = r.finish().expect("usage");
            assert_eq!((u.input, u.output, u.cache_read), (25, 15, 7), "{size}");
        }
    }

    #[test]
    fn a_whole_message_gives_its_usage() {
        let mut r = UsageReader::new("application/json");
        r.feed(br#"{"type":"message","usage":{"input_tokens":3,"output_tokens":4}}"#);
        let u = r.finish().expect("usage");
        assert_eq!((u.input, u.output), (3, 4));
        let mut r = UsageReader::new("application/json");
        r.feed(br#"{"type":"error","error":{}}"#);
        assert_eq!(r.finish(), None);
    }

    #[test]
    fn an_overlong_line_is_skipped_not_kept() {
        let mut r = UsageReader::new("text/event-stream");
        r.feed(b"data: ");
        r.feed(&vec![b'x'; LINE_MAX + 10]);
        assert!(r.buf.is_empty());
        r.feed(b"\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":2}}\n");
        assert_eq!(r.finish().map(|u| u.output), Some(2));
    }
}
