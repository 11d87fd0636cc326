// Follows a run's Server-Sent Events stream: log entries (ids are sequence numbers), `run`
// changes and the final `end`. Reconnects resume after the last id seen, and ids already
// seen are ignored, so nothing is shown twice.

/** Opens the stream; returns a function that closes it for good. */
export function followRun(url, { onEntries, onRun, onEnd, onState }) {
  let last = 0;
  let source = null;
  let retry = 0;
  let closed = false;
  let buffer = [];
  let frame = 0;

  const flush = () => {
    frame = 0;
    if (buffer.length) {
      const items = buffer;
      buffer = [];
      onEntries(items);
    }
  };

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

  connect();
  return () => {
    closed = true;
    clearTimeout(retry);
    cancelAnimationFrame(frame);
    if (source) source.close();
  };
}
