// Follows a run's log: the history first, read as one streamed NDJSON response (its lines
// are the entries 1, 2, 3… in order, handed over a network chunk at a time), then the
// Server-Sent Events stream after the last entry read: new entries (ids are sequence
// numbers), `run` changes and the final `end`. A history cut short is finished by the stream;
// reconnects resume after the last id seen, and ids already seen are ignored, so nothing is
// shown twice. One EventSource message per entry costs far more than one line of a chunk, so
// a 100,000-entry log loads through the history; its tail comes first, for the page to show.

const TAIL = 2000; // entries of a longer history fetched first, beside it
const SLICE = 30; // ms of reading the history between two looks at the rest of the page
const BATCH = 1000; // history lines handed over at a time

/** Follows the log, given the stream's URL, the log's URL and the history's `fetch` of it (a
 * promise of the NDJSON response). A history longer than TAIL entries also has its tail
 * fetched at once and handed to `onTail` (unless the whole history came first), for a page
 * to show while the rest loads; `onHistory` says the history is all in. Returns a function
 * that closes everything for good. Without `history`, the stream alone sends the log. */
export function followRun(url, { log, history, onEntries, onTail, onHistory, onRun, onEnd, onState }) {
  let last = 0;
  let source = null;
  let retry = 0;
  let closed = false;
  let buffer = [];
  let frame = 0;
  let reading = null;
  let loaded = false; // the whole history is in

  const flush = () => {
    frame = 0;
    if (buffer.length) {
      const items = buffer;
      buffer = [];
      onEntries(items);
    }
  };

  async function load() {
    onState("connecting");
    try {
      const res = await history;
      if (!res.ok || !res.body) throw new Error(`history: ${res.status}`);
      const count = Number(res.headers.get("Burrow-Log-Count")) || 0;
      if (onTail && count > TAIL) tail(count - TAIL);
      reading = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let rest = "";
      let since = performance.now();
      for (;;) {
        const { value, done } = await reading.read();
        if (closed || done) break;
        const lines = (rest + value).split("\n");
        rest = lines.pop();
        // A chunk can hold tens of thousands of lines, and chunks already received resolve
        // at once, as microtasks: hand them over BATCH lines at a time and give the page its
        // frames (and the tail its turn) every SLICE ms.
        for (let from = 0; from < lines.length && !closed; from += BATCH) {
          const part = lines.slice(from, from + BATCH);
          const items = new Array(part.length);
          for (let i = 0; i < part.length; i += 1) items[i] = { seq: last + 1 + i, data: part[i] };
          last += part.length;
          onEntries(items);
          if (performance.now() - since > SLICE) {
            await new Promise((r) => setTimeout(r));
            since = performance.now();
          }
        }
      }
    } catch {
      // The stream sends whatever the history did not.
    }
    reading = null;
    loaded = true;
    if (onHistory && !closed) onHistory();
    if (!closed) connect();
  }

  /** The entries after `after`, read whole (they are few) and handed to onTail. */
  async function tail(after) {
    try {
      const res = await fetch(`${log}?after=${after}`, { credentials: "same-origin", headers: { Accept: "application/jsonl" } });
      const lines = res.ok ? (await res.text()).split("\n") : [];
      lines.pop(); // after the last newline
      if (!loaded && !closed && lines.length) onTail(lines.map((data, i) => ({ seq: after + 1 + i, data })));
    } catch {
      // The history shows it all soon enough.
    }
  }

  function connect() {
    onState("connecting");
    source = new EventSource(last ? `${url}?after=${last}` : url);
    source.onopen = () => onState("live");
    source.onmessage = (e) => {
      const seq = Number(e.lastEventId);
      if (!Number.isFinite(seq) || seq <= last) return;
      last = seq;
      buffer.push({ seq, data: e.data });
      if (!frame) frame = requestAnimationFrame(flush);
    };
    source.addEventListener("run", (e) => onRun(JSON.parse(e.data)));
    source.addEventListener("end", () => {
      flush();
      closed = true;
      source.close();
      onState("ended");
      if (onEnd) onEnd();
    });
    source.onerror = () => {
      if (closed) return;
      onState("reconnecting");
      // The browser retries by itself (sending Last-Event-ID) unless the source is closed.
      if (source.readyState === EventSource.CLOSED) {
        clearTimeout(retry);
        retry = setTimeout(connect, 3000);
      }
    };
  }

  // Without a history (a caller that wants the stream only), the stream sends it all.
  if (history) load();
  else connect();
  return () => {
    closed = true;
    clearTimeout(retry);
    cancelAnimationFrame(frame);
    if (reading) reading.cancel().catch(() => {});
    if (source) source.close();
  };
}
