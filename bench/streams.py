"""Memory and latency under many readers (the load issue's separate figures).

  python3 bench/streams.py BASE KEY PID

1. Builds a 100 MiB log on one run, then 50 clients read it whole at once: prints the
   server's peak memory (VmHWM) before and after.
2. Opens 1,000 Server-Sent Events streams on one run, appends entries, and prints how long
   each entry took to reach every stream (p50/p99/max over all deliveries).
Talks only to BASE (a loopback address)."""
import http.client
import json
import socket
import sys
import threading
import time
from urllib.parse import urlparse

base, key, pid = sys.argv[1], sys.argv[2], sys.argv[3]
url = urlparse(base)
H = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def vm(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) // 1024
    return 0


def call(method, path, body=None):
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    c.request(method, path, json.dumps(body) if body is not None else None, H)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def new_run():
    _, t = call("POST", "/api/projects/1/tasks/", {"description": "streams", "origin_product": "user_created"})
    tid = json.loads(t)["id"]
    _, r = call("POST", f"/api/projects/1/tasks/{tid}/runs/", {"status": "in_progress"})
    return f"/api/projects/1/tasks/{tid}/runs/{json.loads(r)['id']}/"


# 1. Fifty readers of a 100 MiB log.
run = new_run()
entry = {"type": "notification", "timestamp": "2026-11-28T12:00:00.000000Z",
         "notification": {"jsonrpc": "2.0", "method": "_posthog/console",
                          "params": {"level": "info", "message": "x" * 40}}}
batch = {"entries": [entry] * 500}
size = len(json.dumps(entry))
need = (100 * 1024 * 1024) // size
conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
t0 = time.time()
for _ in range(need // 500 + 1):
    conn.request("POST", run + "append_log/", json.dumps(batch), H)
    r = conn.getresponse()
    r.read()
    assert r.status == 200, r.status
print(f"built a {need * size / 2**20:.0f} MiB log ({need} entries) in {time.time() - t0:.1f} s")
before = vm("VmHWM")
got = []


def read_all():
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
    c.request("GET", run + "logs", headers=H)
    r = c.getresponse()
    n = 0
    while True:
        chunk = r.read(65536)
        if not chunk:
            break
        n += len(chunk)
    got.append(n)


t0 = time.time()
threads = [threading.Thread(target=read_all) for _ in range(50)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"50 clients read {sum(got) / 2**20:.0f} MiB in {time.time() - t0:.1f} s; "
      f"server peak RSS {before} MiB before, {vm('VmHWM')} MiB after")

# 2. A thousand live streams.
run = new_run()
STREAMS = 1000
socks = []
for _ in range(STREAMS):
    s = socket.create_connection((url.hostname, url.port))
    s.sendall((f"GET {run}stream/ HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {key}\r\n"
               "Accept: text/event-stream\r\n\r\n").encode())
    socks.append(s)
latencies = []
sent = {}
ROUNDS = 20

# One thread reads every stream through epoll and notes the time a chunk arrives before
# parsing it: a thread per stream would measure Python's lock hand-offs, not the server.
import selectors
sel = selectors.DefaultSelector()
state = {}
for s in socks:
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    state[s] = [b"", 0]
done = threading.Event()


def pump():
    pending = STREAMS
    deadline = time.time() + 120
    while pending and time.time() < deadline:
        for key_, _ in sel.select(timeout=1):
            s = key_.fileobj
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            arrived = time.time()
            st = state[s]
            if not data:
                sel.unregister(s)
                pending -= 1
                continue
            st[0] += data
            while b"\n\n" in st[0]:
                event, st[0] = st[0].split(b"\n\n", 1)
                for line in event.split(b"\n"):
                    if line.startswith(b"data: {\"seq\":"):
                        n = json.loads(line[6:])["seq"]
                        latencies.append(arrived - sent[n])
                        st[1] += 1
            if st[1] >= ROUNDS:
                sel.unregister(s)
                pending -= 1
    done.set()


pumper = threading.Thread(target=pump)
pumper.start()
time.sleep(2)
print(f"{STREAMS} streams open; server RSS {vm('VmRSS')} MiB")
for n in range(ROUNDS):
    sent[n] = time.time()
    status, _ = call("POST", run + "append_log/", {"entries": [{"seq": n}]})
    assert status == 200
    time.sleep(0.1)
done.wait(timeout=150)
latencies.sort()
if latencies:
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    print(f"{len(latencies)} deliveries of {ROUNDS * STREAMS}: append to arrival p50 {p(0.5):.1f} ms, "
          f"p99 {p(0.99):.1f} ms, max {latencies[-1] * 1000:.1f} ms")
for s in socks:
    s.close()
