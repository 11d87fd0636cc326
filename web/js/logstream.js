// Follows a run's log: the history first, read as one streamed NDJSON response (its lines
// are the entries 1, 2, 3… in order, handed over a network chunk at a time), then the
// Server-Sent Events stream after the last entry read: new entries (ids are sequence
// numbers), `run` changes and the final `end`. A history cut short is finished by the stream;
// reconnects resume after the last id seen, and ids already seen are ignored, so nothing is
// shown twice. One EventSource message per entry costs far more than one line of a chunk, so
// a 100,000-entry log loads through the history.

/** Follows the log, given the history's `fetch` (a promise of the NDJSON response) and the
 * stream's URL; returns a function that closes both for good. */
export function followRun(url, { history, onEntries, onRun, onEnd, onState }) {
  let last = 0;
  let source = null;
  let retry = 0;
  let closed = false;
  let buffer = [];
  let frame = 0;
  let reading = null;

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
      reading = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let rest = "";
      for (;;) {
        const { value, done } = await reading.read();
        if (closed || done) break;
        const lines = (rest + value).split("\n");
        rest = lines.pop();
        const items = new Array(lines.length);
        for (let i = 0; i < lines.length; i += 1) items[i] = { seq: last + 1 + i, data: lines[i] };
        last += lines.length;
        if (items.length) onEntries(items);
      }
    } catch {
      // The stream sends whatever the history did not.
    }
    reading = null;
    if (!closed) connect();
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

  load();
  return () => {
    closed = true;
    clearTimeout(retry);
    cancelAnimationFrame(frame);
    if (reading) reading.cancel().catch(() => {});
    if (source) source.close();
  };
}
