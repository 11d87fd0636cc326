#!/usr/bin/env python3
"""A fake ACP agent for Burrow's tests: speaks the Agent Client Protocol (JSON-RPC 2.0, one
message per line on stdin/stdout) like a real coding agent, without a model.

What it does on `session/prompt` is chosen by the prompt's text (the first word found wins):

  work (default)  streams agent_message_chunks, sends a plan, reports a tool_call with a diff
                  and completes it, writes NOTES.md and reads README.md through fs/*, runs a
                  command through terminal/*, asks session/request_permission and, when allowed,
                  writes ALLOWED.md; ends the turn with end_turn
  idle            answers one chunk and ends the turn, changing nothing
  crash           writes to stderr and exits 3 in the middle of the turn
  vanish          exits 0 in the middle of the turn, without answering
  hang            streams one chunk, then waits; session/cancel ends the turn (cancelled)
  stubborn        like hang, but ignores session/cancel, SIGTERM and the end of its stdin
  outside         tries to read and write outside its workspace through fs/* and reports what
                  it was told in a chunk ("refused N of M")
  slow            streams sixteen chunks a quarter of a second apart, then writes SLOW.md
  probe PATH      reports whether PATH exists and /usr is writable, and what /tmp holds,
                  looking for itself (not through fs/*); writes PROBE.md
  env             reports its environment's names and HOME in a chunk
  flood           runs a command through terminal/* that prints far more than its byte limit

A follow-up prompt (any prompt after the first) is answered with "you said: <text>" and writes
FOLLOWUP.md.

Command-line modes test the handshake: --garbage (prints non-JSON), --silent (never answers
initialize), --auth (session/new fails with auth_required), --exit-at-start (exits 5 at once).
"""

import json
import os
import queue
import signal
import sys
import threading
import time

MODE = sys.argv[1] if len(sys.argv) > 1 else ""

if MODE == "--exit-at-start":
    sys.stderr.write("fake agent: giving up before the handshake\n")
    sys.exit(5)

stubborn = threading.Event()


def on_sigterm(_signum, _frame):
    # Only the main thread may set handlers, so the choice is made here, per turn.
    if not stubborn.is_set():
        os._exit(143)


signal.signal(signal.SIGTERM, on_sigterm)

inbox = queue.Queue()
pending = {}  # request id -> queue for its response
cancelled = threading.Event()
next_id = [1000]
write_lock = threading.Lock()


def send(msg):
    with write_lock:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()


def reader():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        msg = json.loads(line)
        if "method" not in msg and "id" in msg and msg["id"] in pending:
            pending.pop(msg["id"]).put(msg)
        elif msg.get("method") == "session/cancel":
            cancelled.set()
        else:
            inbox.put(msg)
    inbox.put(None)


def request(method, params):
    next_id[0] += 1
    rid = next_id[0]
    box = queue.Queue()
    pending[rid] = box
    send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
    return box.get()


def update(session, body):
    send({"jsonrpc": "2.0", "method": "session/update",
          "params": {"sessionId": session, "update": body}})


def chunk(session, text):
    update(session, {"sessionUpdate": "agent_message_chunk",
                     "content": {"type": "text", "text": text}})


def answer(msg, result):
    send({"jsonrpc": "2.0", "id": msg["id"], "result": result})


def prompt_text(params):
    return " ".join(b.get("text", "") for b in params.get("prompt", []) if b.get("type") == "text")


def work(session, cwd):
    chunk(session, "")
    chunk(session, "Looking at the repository. ")
    chunk(session, "I will add notes.")
    update(session, {"sessionUpdate": "plan", "entries": [
        {"content": "Read the README", "priority": "high", "status": "completed"},
        {"content": "Write NOTES.md", "priority": "medium", "status": "in_progress"}]})
    notes = os.path.join(cwd, "NOTES.md")
    update(session, {"sessionUpdate": "tool_call", "toolCallId": "call-1", "title": "Write NOTES.md",
                     "kind": "edit", "status": "pending",
                     "content": [{"type": "diff", "path": notes, "oldText": None,
                                  "newText": "# Notes\n"}]})
    read = request("fs/read_text_file", {"sessionId": session, "path": os.path.join(cwd, "README.md")})
    readme = read.get("result", {}).get("content", "")
    wrote = request("fs/write_text_file", {"sessionId": session, "path": notes,
                                           "content": "# Notes\nThe README had %d lines.\n"
                                           % len(readme.splitlines())})
    update(session, {"sessionUpdate": "tool_call_update", "toolCallId": "call-1",
                     "status": "completed" if "result" in wrote else "failed"})
    term = request("terminal/create", {"sessionId": session, "command": "sh",
                                       "args": ["-c", "echo from-terminal; ls"], "cwd": cwd,
                                       "outputByteLimit": 4096})
    tid = term["result"]["terminalId"]
    waited = request("terminal/wait_for_exit", {"sessionId": session, "terminalId": tid})
    out = request("terminal/output", {"sessionId": session, "terminalId": tid})
    request("terminal/release", {"sessionId": session, "terminalId": tid})
    chunk(session, "terminal said %s (exit %s). " % (out["result"]["output"].split("\n")[0],
                                                    waited["result"].get("exitCode")))
    asked = request("session/request_permission", {
        "sessionId": session,
        "toolCall": {"toolCallId": "call-2", "title": "Write ALLOWED.md", "kind": "edit"},
        "options": [{"optionId": "yes", "name": "Allow", "kind": "allow_once"},
                    {"optionId": "always", "name": "Always allow", "kind": "allow_always"},
                    {"optionId": "no", "name": "Reject", "kind": "reject_once"}]})
    outcome = asked.get("result", {}).get("outcome", {})
    if outcome.get("outcome") == "selected" and outcome.get("optionId") in ("yes", "always"):
        request("fs/write_text_file", {"sessionId": session,
                                       "path": os.path.join(cwd, "ALLOWED.md"),
                                       "content": "allowed\n"})
        chunk(session, "Permission granted.")
    else:
        chunk(session, "Permission refused.")


def outside(session, cwd):
    tries = [
        ("fs/read_text_file", {"path": "/etc/hostname"}),
        ("fs/read_text_file", {"path": os.path.join(cwd, "..", "..", "secret.txt")}),
        ("fs/read_text_file", {"path": os.path.join(cwd, "link-out", "secret.txt")}),
        ("fs/write_text_file", {"path": os.path.join(cwd, "..", "escaped.txt"), "content": "x"}),
        ("fs/read_text_file", {"path": "README.md"}),
    ]
    os.symlink("..", os.path.join(cwd, "link-out"))
    refused = 0
    for method, params in tries:
        params["sessionId"] = session
        got = request(method, params)
        if "error" in got:
            refused += 1
    os.remove(os.path.join(cwd, "link-out"))
    chunk(session, "refused %d of %d" % (refused, len(tries)))


def flood(session, cwd):
    term = request("terminal/create", {"sessionId": session, "command": "sh",
                                       "args": ["-c", "yes 0123456789 | head -c 100000; echo tail-end"],
                                       "outputByteLimit": 1000})
    tid = term["result"]["terminalId"]
    request("terminal/wait_for_exit", {"sessionId": session, "terminalId": tid})
    out = request("terminal/output", {"sessionId": session, "terminalId": tid})["result"]
    chunk(session, "got %d bytes, truncated=%s, ends with tail-end=%s"
          % (len(out["output"].encode()), out["truncated"], out["output"].endswith("tail-end\n")))


def main():
    threading.Thread(target=reader, daemon=True).start()
    sessions = {}
    prompts = 0
    while True:
        msg = inbox.get()
        if msg is None:
            # Like some real agents, a stubborn one outlives its stdin.
            while stubborn.is_set():
                time.sleep(1)
            return
        method, params = msg.get("method"), msg.get("params") or {}
        if method == "initialize":
            if MODE == "--garbage":
                sys.stdout.write("this is not JSON-RPC\n")
                sys.stdout.flush()
                time.sleep(30)
                return
            if MODE == "--silent":
                continue
            answer(msg, {"protocolVersion": 1,
                         "agentCapabilities": {"loadSession": False},
                         "authMethods": [{"id": "api-key", "name": "API key",
                                          "description": "Set FAKE_AGENT_KEY"}],
                         "agentInfo": {"name": "fake-acp-agent", "version": "1.0.0"}})
        elif method == "session/new":
            if MODE == "--auth":
                sys.stderr.write("fake agent: no credentials found\n")
                send({"jsonrpc": "2.0", "id": msg["id"],
                      "error": {"code": -32000, "message": "Authentication required"}})
                continue
            sid = "sess-%d" % (len(sessions) + 1)
            sessions[sid] = params["cwd"]
            answer(msg, {"sessionId": sid})
        elif method == "session/prompt":
            sid = params["sessionId"]
            cwd = sessions[sid]
            text = prompt_text(params)
            prompts += 1
            cancelled.clear()
            threading.Thread(target=turn, args=(msg, sid, cwd, text, prompts), daemon=True).start()
        elif "id" in msg:
            send({"jsonrpc": "2.0", "id": msg["id"],
                  "error": {"code": -32601, "message": "Method not found"}})


def turn(msg, sid, cwd, text, number):
    words = text.lower().split()
    stop = "end_turn"
    if number > 1:
        chunk(sid, "you said: " + text)
        request("fs/write_text_file", {"sessionId": sid, "path": os.path.join(cwd, "FOLLOWUP.md"),
                                       "content": text + "\n"})
    elif "crash" in words:
        chunk(sid, "about to crash")
        for i in range(30):
            sys.stderr.write("fake agent: stderr line %d\n" % i)
        sys.stderr.write("fake agent: fatal: out of cheese\n")
        sys.stderr.flush()
        os._exit(3)
    elif "vanish" in words:
        chunk(sid, "leaving")
        os._exit(0)
    elif "hang" in words or "stubborn" in words:
        if "stubborn" in words:
            stubborn.set()
        chunk(sid, "thinking for a long time")
        while not cancelled.is_set() or "stubborn" in words:
            time.sleep(0.05)
        stop = "cancelled"
    elif "outside" in words:
        outside(sid, cwd)
    elif "flood" in words:
        flood(sid, cwd)
    elif "slow" in words:
        for i in range(16):
            chunk(sid, "tick %d;" % i)
            time.sleep(0.25)
        request("fs/write_text_file", {"sessionId": sid, "path": os.path.join(cwd, "SLOW.md"),
                                       "content": "slow\n"})
    elif "probe" in words:
        # Looks around with its own eyes, not through fs/*: the last word is a path to look for.
        target = text.split()[-1]
        try:
            with open("/usr/burrow-probe", "w") as f:
                f.write("x")
            system_writable = True
        except OSError:
            system_writable = False
        with open(os.path.join(cwd, "PROBE.md"), "w") as f:
            f.write("probe\n")
        chunk(sid, "target visible=%s system writable=%s tmp=%s" % (
            os.path.exists(target), system_writable, ",".join(sorted(os.listdir("/tmp")))))
    elif "env" in words:
        chunk(sid, "env: " + ",".join(sorted(os.environ)) + " home: " + os.environ.get("HOME", ""))
    elif "idle" in words:
        chunk(sid, "nothing to do")
    else:
        work(sid, cwd)
    answer(msg, {"stopReason": stop})


if __name__ == "__main__":
    main()
