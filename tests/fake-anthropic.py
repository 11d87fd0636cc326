#!/usr/bin/env python3
"""A scripted stand-in for Anthropic's Messages API, for Burrow's tests: serves
POST /v1/messages (Server-Sent Events when "stream" is true, one JSON message otherwise),
POST /v1/messages/count_tokens and GET /v1/models on loopback, without a model.

    fake-anthropic.py [--script FILE] [--record FILE] [--port N]

(or FAKE_ANTHROPIC_SCRIPT, FAKE_ANTHROPIC_RECORD, FAKE_ANTHROPIC_PORT). It prints its port on
stdout when ready (port 0, the default, picks a free one).

The script is a JSON file: {"turns": [TURN, ...], "side": TURN, "key": "...", "model": "..."}.
The turn answered is the number of tool_result blocks in the request's messages (the last
turn once they run out), so a real client (Claude Code) walks the script as it uses tools.
A request without "tools" (Claude Code's titles and quota checks) gets "side" instead of a
turn that calls a tool (default: a short text). With "key" set, a request whose x-api-key
differs is refused with 401 authentication_error. A TURN holds:

  "text": "..."                 a text block (streamed in a few deltas)
  "tool_use": {"name", "input"} a tool_use block after the text, if any (stop_reason tool_use);
                                e.g. {"name": "Write", "input": {"file_path": "{{cwd}}/A.md",
                                "content": "..."}}; "{{cwd}}" in any string becomes the
                                working directory named in the request's system prompt
                                ("Working directory: /path")
  "usage": {"input_tokens", "output_tokens", "cache_read_input_tokens",
            "cache_creation_input_tokens"}          what the answer reports (defaults 10 / 5 / 0 / 0)
  "error": {"status": 529, "type": "overloaded_error", "message": "..."}
                                answers with Anthropic's error JSON and that status instead
  "stream_error": {"type", "message"}  streams message_start, then an `error` event, and ends
  "hold": true                  sends message_start, then pings every 0.2 s until POST /_release (or until
                                the client goes away, which it records)
  "headers": {"name": "value"}  extra response headers

The default script writes FAKE.md with the Write tool, then answers "Done.".

With --record, each request is appended to FILE as one JSON line
{"method", "path", "headers": {lower-case name: value}, "body"}, and a client that went away
before the answer ended adds {"event": "disconnected", "path"}. POST /_release releases every
held answer, present and future.
"""

import json
import os
import re
import select
import socket
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def option(name, env, default=None):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return os.environ.get(env, default)


SCRIPT_PATH = option("--script", "FAKE_ANTHROPIC_SCRIPT")
RECORD_PATH = option("--record", "FAKE_ANTHROPIC_RECORD")
PORT = int(option("--port", "FAKE_ANTHROPIC_PORT", "0"))

DEFAULT_SCRIPT = {
    "turns": [
        {
            "text": "I will write the file.",
            "tool_use": {
                "name": "Write",
                "input": {"file_path": "{{cwd}}/FAKE.md", "content": "written by the fake model\n"},
            },
        },
        {"text": "Done."},
    ]
}

if SCRIPT_PATH:
    with open(SCRIPT_PATH) as f:
        SCRIPT = json.load(f)
else:
    SCRIPT = DEFAULT_SCRIPT
MODEL = SCRIPT.get("model", "claude-fake-1")
released = threading.Event()
record_lock = threading.Lock()


def record(entry):
    if not RECORD_PATH:
        return
    with record_lock, open(RECORD_PATH, "a") as f:
        f.write(json.dumps(entry) + "\n")
        f.flush()


def tool_results(body):
    count = 0
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, list):
            count += sum(1 for b in content if isinstance(b, dict) and b.get("type") == "tool_result")
    return count


def working_directory(body):
    system = body.get("system")
    if isinstance(system, list):
        system = "\n".join(b.get("text", "") for b in system if isinstance(b, dict))
    m = re.search(r"Working directory: *(\S+)", system or "")
    return m.group(1) if m else "."


def fill(value, cwd):
    if isinstance(value, str):
        return value.replace("{{cwd}}", cwd)
    if isinstance(value, list):
        return [fill(v, cwd) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, cwd) for k, v in value.items()}
    return value


def choose(body):
    turns = SCRIPT.get("turns") or [{"text": "OK"}]
    turn = turns[min(tool_results(body), len(turns) - 1)]
    if "tool_use" in turn and not body.get("tools"):
        turn = SCRIPT.get("side", {"text": "OK"})
    return fill(turn, working_directory(body))


def usage_of(turn):
    u = {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 0,
         "cache_creation_input_tokens": 0}
    u.update(turn.get("usage") or {})
    return u


def blocks_of(turn):
    blocks = []
    if turn.get("text"):
        blocks.append({"type": "text", "text": turn["text"]})
    if turn.get("tool_use"):
        t = turn["tool_use"]
        blocks.append({"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:24],
                       "name": t["name"], "input": t.get("input", {})})
    return blocks


def stop_reason(blocks):
    return "tool_use" if blocks and blocks[-1]["type"] == "tool_use" else "end_turn"


def pieces(text, n=3):
    size = max(1, -(-len(text) // n))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


class ClientGone(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return {"_raw": raw.decode("utf-8", "replace")}

    def note(self, body):
        headers = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = headers[name] + ", " + value if name in headers else value
        record({"method": self.command, "path": self.path, "headers": headers, "body": body})

    def send_json(self, status, payload, extra=None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", "req_fake_" + uuid.uuid4().hex[:12])
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_error_json(self, status, kind, message, extra=None):
        self.send_json(status, {"type": "error", "error": {"type": kind, "message": message}}, extra)

    def authorized(self):
        key = SCRIPT.get("key")
        if key is None or self.headers.get("x-api-key") == key:
            return True
        self.send_error_json(401, "authentication_error", "invalid x-api-key")
        return False

    def do_GET(self):
        self.note(None)
        if self.path.split("?")[0] != "/v1/models":
            return self.send_error_json(404, "not_found_error", "Not found")
        if not self.authorized():
            return
        model = {"type": "model", "id": MODEL, "display_name": "Fake Claude",
                 "created_at": "2025-01-01T00:00:00Z"}
        self.send_json(200, {"data": [model], "has_more": False, "first_id": MODEL,
                             "last_id": MODEL})

    def do_POST(self):
        body = self.read_body()
        path = self.path.split("?")[0]
        if path == "/_release":
            released.set()
            return self.send_json(200, {"released": True})
        self.note(body)
        if not self.authorized():
            return
        if path == "/v1/messages/count_tokens":
            return self.send_json(200, {"input_tokens": 42})
        if path != "/v1/messages":
            return self.send_error_json(404, "not_found_error", "Not found")
        turn = choose(body)
        if "error" in turn:
            e = turn["error"]
            return self.send_error_json(e.get("status", 400), e.get("type", "invalid_request_error"),
                                        e.get("message", "scripted error"), turn.get("headers"))
        try:
            if body.get("stream"):
                self.stream(body, turn)
            else:
                self.whole(body, turn)
        except (ClientGone, BrokenPipeError, ConnectionResetError):
            record({"event": "disconnected", "path": self.path})
            self.close_connection = True

    def message(self, body, turn, content, usage):
        return {"id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant",
                "model": body.get("model") or MODEL, "content": content,
                "stop_reason": None, "stop_sequence": None, "usage": usage}

    def whole(self, body, turn):
        blocks = blocks_of(turn)
        msg = self.message(body, turn, blocks, usage_of(turn))
        msg["stop_reason"] = stop_reason(blocks)
        self.send_json(200, msg, turn.get("headers"))

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def event(self, name, payload):
        self.chunk(("event: %s\ndata: %s\n\n" % (name, json.dumps(payload))).encode())

    def wait_for_release(self):
        # Anthropic sends ping events while a stream is quiet; so does this, every 0.2 s, which
        # is how a relay learns that its client has gone (its next write fails).
        conn = self.connection
        ticks = 0
        while not released.wait(0.05):
            ticks += 1
            if ticks % 4 == 0:
                self.event("ping", {"type": "ping"})
            readable, _, _ = select.select([conn], [], [], 0)
            if readable:
                try:
                    if conn.recv(1, socket.MSG_PEEK) == b"":
                        raise ClientGone()
                except OSError:
                    raise ClientGone()

    def stream(self, body, turn):
        usage = usage_of(turn)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", "req_fake_" + uuid.uuid4().hex[:12])
        for k, v in (turn.get("headers") or {}).items():
            self.send_header(k, v)
        self.end_headers()
        start_usage = {k: usage[k] for k in ("input_tokens", "cache_read_input_tokens",
                                             "cache_creation_input_tokens")}
        start_usage["output_tokens"] = 1
        self.event("message_start", {"type": "message_start",
                                     "message": self.message(body, turn, [], start_usage)})
        if turn.get("hold"):
            self.wait_for_release()
        if turn.get("stream_error"):
            e = turn["stream_error"]
            self.event("error", {"type": "error", "error": {
                "type": e.get("type", "overloaded_error"), "message": e.get("message", "Overloaded")}})
            self.chunk(b"")
            return
        self.event("ping", {"type": "ping"})
        blocks = blocks_of(turn)
        for i, block in enumerate(blocks):
            if block["type"] == "text":
                self.event("content_block_start", {"type": "content_block_start", "index": i,
                                                   "content_block": {"type": "text", "text": ""}})
                for piece in pieces(block["text"]):
                    self.event("content_block_delta", {"type": "content_block_delta", "index": i,
                                                       "delta": {"type": "text_delta", "text": piece}})
            else:
                start = dict(block, input={})
                self.event("content_block_start", {"type": "content_block_start", "index": i,
                                                   "content_block": start})
                for piece in pieces(json.dumps(block["input"])):
                    self.event("content_block_delta", {"type": "content_block_delta", "index": i,
                                                       "delta": {"type": "input_json_delta",
                                                                 "partial_json": piece}})
            self.event("content_block_stop", {"type": "content_block_stop", "index": i})
        self.event("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": stop_reason(blocks),
                                               "stop_sequence": None},
                                     "usage": {"output_tokens": usage["output_tokens"]}})
        self.event("message_stop", {"type": "message_stop"})
        self.chunk(b"")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
