//! The agent's stdin and stdout as the SDK's line transport, with a tap on the way in:
//! every `session/update` is logged with its params exactly as the agent wrote them, and a
//! line that is not a JSON-RPC message ends the connection with a reason.

use std::sync::{Arc, Mutex};

use agent_client_protocol::Lines;
use futures_util::{Sink, Stream};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::mpsc;

use crate::background::run_log::Log;

/// Longest line the agent may write (a message with a large diff fits easily).
const MAX_LINE: usize = 64 * 1024 * 1024;

/// Why the agent's stdout stopped being read, when it was not a plain end of file.
pub type Broken = Arc<Mutex<Option<String>>>;

/// The transport for the SDK, and where a broken stream says why.
pub fn transport(
    stdin: ChildStdin,
    stdout: ChildStdout,
    log: Log,
) -> (
    Lines<
        impl Sink<String, Error = std::io::Error> + Send + 'static,
        impl Stream<Item = std::io::Result<String>> + Send + 'static,
    >,
    Broken,
) {
    let broken: Broken = Arc::default();
    let (tx, mut rx) = mpsc::unbounded_channel::<std::io::Result<String>>();
    tokio::spawn(tap(stdout, tx, log, broken.clone()));
    let incoming = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let outgoing = futures_util::sink::unfold(stdin, async |mut stdin, line: String| {
        stdin.write_all(line.as_bytes()).await?;
        stdin.write_all(b"\n").await?;
        stdin.flush().await?;
        Ok::<_, std::io::Error>(stdin)
    });
    (Lines::new(outgoing, incoming), broken)
}

async fn tap(
    stdout: ChildStdout,
    tx: mpsc::UnboundedSender<std::io::Result<String>>,
    log: Log,
    broken: Broken,
) {
    let mut lines = BufReader::new(stdout);
    let mut line = String::new();
    loop {
        line.clear();
        match (&mut lines)
            .take(MAX_LINE as u64)
            .read_line(&mut line)
            .await
        {
            Ok(0) => return,
            Ok(_) if !line.ends_with('\n') && line.len() >= MAX_LINE => {
                *broken.lock().unwrap() = Some(format!(
                    "The agent wrote a line longer than {MAX_LINE} bytes."
                ));
                return;
            }
            Ok(_) => {}
            Err(e) => {
                *broken.lock().unwrap() = Some(format!("Cannot read the agent's output: {e}"));
                return;
            }
        }
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let message: Option<Value> = serde_json::from_str(text).ok();
        let Some(message) = message.filter(|m| m.get("jsonrpc").is_some_and(|v| v == "2.0")) else {
            let shown: String = text.chars().take(200).collect();
            *broken.lock().unwrap() = Some(format!(
                "The agent wrote something that is not a JSON-RPC message: {shown:?}"
            ));
            return;
        };
        if message["method"] == "session/update"
            && let Some(params) = message.get("params")
        {
            log.update(params.clone());
        }
        if tx.send(Ok(text.to_string())).is_err() {
            return;
        }
    }
}
