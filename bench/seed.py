"""Seeds a running Burrow over HTTP: N tasks, each with one run, from 8 threads.
Prints one task id per line to the given file (for random reads) and the last run's path."""
import http.client
import json
import sys
import threading
from urllib.parse import urlparse

base, key, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
url = urlparse(base)
headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
ids, lock = [], threading.Lock()


def worker(n):
    conn = http.client.HTTPConnection(url.hostname, url.port)
    for i in range(n):
        body = json.dumps({
            "title": f"Seeded task {i}",
            "description": "Fix the flaky login test on the checkout page; it fails one run in ten.",
            "origin_product": "user_created",
            "repository": "acme/web",
        })
        conn.request("POST", "/api/projects/1/tasks/", body, headers)
        task = json.loads(conn.getresponse().read())
        conn.request("POST", f"/api/projects/1/tasks/{task['id']}/run/", "", headers)
        conn.getresponse().read()
        with lock:
            ids.append(task["id"])


threads = [threading.Thread(target=worker, args=(count // 8 + (1 if t < count % 8 else 0),)) for t in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(out, "w") as f:
    for i in ids:
        f.write(f"/api/projects/1/tasks/{i}/\n")
