//! A command's stdout and stderr as log entries: each line becomes
//! `{"type": "console", "level": "info"|"error", "stream": …, "message": line}`, written in
//! batches as lines arrive. Output counts as activity for the idle timeout.

use actix_web::web::Data;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::clock;
use crate::state::AppState;

/// Longer lines are cut into several entries.
const MAX_LINE: u64 = 16 * 1024;
/// The most entries written at once.
const BATCH: usize = 500;

/// Reads both streams to their end and appends their lines to the run's log; the handle
/// finishes once everything read is written.
pub fn capture<O, E>(
    state: Data<AppState>,
    run_pk: i64,
    stdout: Option<O>,
    stderr: Option<E>,
) -> JoinHandle<()>
where
    O: AsyncRead + Unpin + 'static,
    E: AsyncRead + Unpin + 'static,
{
    let (tx, mut rx) = mpsc::channel::<String>(BATCH * 2);
    if let Some(out) = stdout {
        actix_web::rt::spawn(lines(out, "stdout", "info", tx.clone()));
    }
    if let Some(err) = stderr {
        actix_web::rt::spawn(lines(err, "stderr", "error", tx));
    }
    actix_web::rt::spawn(async move {
        let cap = state.config.log_max_bytes;
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(entry) => batch.push(entry),
                    Err(_) => break,
                }
            }
            if let Err(e) = state.runs().log_output(run_pk, batch, cap).await {
                tracing::warn!("runner: cannot log a command's output: {e}");
            }
        }
    })
}

async fn lines<R: AsyncRead + Unpin>(
    reader: R,
    stream: &'static str,
    level: &'static str,
    tx: mpsc::Sender<String>,
) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        let entry = json!({
            "type": "console",
            "level": level,
            "stream": stream,
            "message": String::from_utf8_lossy(&line),
            "timestamp": clock::now(),
        })
        .to_string();
        if tx.send(entry).await.is_err() {
            return;
        }
    }
}
