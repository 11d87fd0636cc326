"""Adds tasks straight into a stopped server's SQLite file, for the million-task workload.
Keeps the project's live task count right, as the server would."""
import sqlite3
import sys
import uuid

db, total = sys.argv[1], int(sys.argv[2])
conn = sqlite3.connect(db)
have = conn.execute("SELECT COUNT(*) FROM tasks WHERE project_id = 1").fetchone()[0]
start = conn.execute("SELECT COALESCE(MAX(task_number) + 1, 0) FROM tasks WHERE project_id = 1").fetchone()[0]
user = conn.execute("SELECT MIN(id) FROM users").fetchone()[0]
now = "2026-11-28T12:00:00.000000Z"
rows = (
    (str(uuid.uuid4()), start + i, f"Bulk task {i}", "A seeded task for the paging benchmark.",
     "user_created", "acme/web", user, now, now)
    for i in range(max(0, total - have))
)
conn.executemany(
    "INSERT INTO tasks (id, project_id, task_number, title, description, origin_product, repository,"
    " created_by, created_at, updated_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
conn.execute("UPDATE projects SET live_tasks = (SELECT COUNT(*) FROM tasks WHERE project_id = 1"
             " AND deleted_at IS NULL) WHERE id = 1")
conn.commit()
print(conn.execute("SELECT live_tasks FROM projects WHERE id = 1").fetchone()[0])
