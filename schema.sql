-- Burrow's whole schema for a fresh database. Timestamps are ISO-8601 UTC text with
-- microseconds and a trailing Z, so they sort as text. Tasks and runs carry an integer
-- rowid (`pk`) for ordering and joins and a UUID (`id`) for the API.

CREATE TABLE organizations (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE projects (
    id              INTEGER PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    uuid            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    live_tasks      INTEGER NOT NULL DEFAULT 0, -- tasks not deleted: an unfiltered list's count
    version         INTEGER NOT NULL DEFAULT 0  -- moves on every change a task list shows
);

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    uuid                TEXT NOT NULL UNIQUE,
    distinct_id         TEXT NOT NULL UNIQUE,
    email               TEXT NOT NULL UNIQUE COLLATE NOCASE,
    first_name          TEXT NOT NULL DEFAULT '',
    last_name           TEXT NOT NULL DEFAULT '',
    password_hash       TEXT,
    is_admin            INTEGER NOT NULL DEFAULT 0,
    current_project_id  INTEGER REFERENCES projects(id),
    created_at          TEXT NOT NULL
);

-- Members reach every project of their organization (PostHog's default).
CREATE TABLE memberships (
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    user_id         INTEGER NOT NULL REFERENCES users(id),
    created_at      TEXT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
) WITHOUT ROWID;

-- Personal API keys: only a SHA-256 of the value is kept; the value is shown once.
CREATE TABLE personal_api_keys (
    id              TEXT PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    label           TEXT NOT NULL,
    secure_value    TEXT NOT NULL UNIQUE,
    mask_value      TEXT NOT NULL,
    scopes          TEXT NOT NULL,          -- JSON array of scope strings
    scoped_projects TEXT,                   -- JSON array of project ids, or NULL for all
    created_at      TEXT NOT NULL,
    last_used_at    TEXT,
    revoked_at      TEXT
);
CREATE INDEX personal_api_keys_user ON personal_api_keys(user_id);

-- Browser sessions: only a SHA-256 of the cookie's value is kept.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    csrf_token  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  INTEGER NOT NULL            -- Unix seconds
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE integrations (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    kind        TEXT NOT NULL,
    account     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX integrations_project ON integrations(project_id);

CREATE TABLE tasks (
    pk              INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    project_id      INTEGER NOT NULL REFERENCES projects(id),
    task_number     INTEGER NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL,
    origin_product  TEXT NOT NULL,
    repository      TEXT,                   -- lower-cased "org/repo"
    github_integration_id INTEGER REFERENCES integrations(id),
    json_schema     TEXT,                   -- JSON text
    assignee        TEXT,
    created_by      INTEGER REFERENCES users(id),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    deleted_at      TEXT,
    UNIQUE (project_id, task_number)
);
CREATE INDEX tasks_live ON tasks(project_id, pk) WHERE deleted_at IS NULL;

CREATE TABLE task_runs (
    pk              INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    task_pk         INTEGER NOT NULL REFERENCES tasks(pk),
    stage           TEXT,
    branch          TEXT,
    status          TEXT NOT NULL,
    environment     TEXT NOT NULL,
    error_message   TEXT,
    output          TEXT,                   -- JSON text or NULL
    state           TEXT NOT NULL DEFAULT '{}',
    artifacts       TEXT NOT NULL DEFAULT '[]',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    completed_at    TEXT,
    log_count       INTEGER NOT NULL DEFAULT 0,  -- entries so far = the last sequence number
    log_bytes       INTEGER NOT NULL DEFAULT 0,  -- bytes of entry JSON so far
    log_truncated   INTEGER NOT NULL DEFAULT 0,  -- 1 once the size cap refused an append
    -- For the runners and the stuck-run sweeper. Kept apart from updated_at, which log
    -- appends must not change.
    started_at      TEXT,                   -- when the status first became in_progress
    last_activity_at TEXT,                  -- last API write or command output; NULL: created_at
    -- The command runner's temporary key. No foreign key: `burrow export` leaves keys out.
    runner_key_id   TEXT,
    -- The client's id of the last append_log batch stored, so that a retried batch that
    -- had landed is not stored twice.
    log_batch       TEXT,
    -- The last `seq` of the agent's event stream (event_stream/) stored in the log, so each
    -- event is stored once however often the stream reconnects.
    event_seq       INTEGER NOT NULL DEFAULT 0,
    -- What the LLM gateway forwarded for this run's key: requests and tokens, by kind.
    llm_requests    INTEGER NOT NULL DEFAULT 0,
    llm_input_tokens INTEGER NOT NULL DEFAULT 0,
    llm_output_tokens INTEGER NOT NULL DEFAULT 0,
    llm_cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    llm_cache_creation_tokens INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX task_runs_task ON task_runs(task_pk, pk);
CREATE INDEX task_runs_stage ON task_runs(stage, task_pk) WHERE stage IS NOT NULL;
-- Claiming the oldest queued run and sweeping stuck ones read runs by status.
CREATE INDEX task_runs_status ON task_runs(status, pk);
-- The LLM gateway finds the run whose temporary key made a model request.
CREATE INDEX task_runs_runner_key ON task_runs(runner_key_id) WHERE runner_key_id IS NOT NULL;

-- Each run's log: entries as compact JSON text, numbered 1, 2, 3, … per run without gaps.
CREATE TABLE log_entries (
    id      INTEGER PRIMARY KEY,
    run_pk  INTEGER NOT NULL REFERENCES task_runs(pk),
    seq     INTEGER NOT NULL,
    entry   TEXT NOT NULL,
    UNIQUE (run_pk, seq)
);

-- The event ids PostHog's agent puts on the entries it sends both to append_log/ and to
-- event_stream/ ("<boot>-<n>"; a merged message covers first_event_id..event_id): an
-- entry whose events the log already holds, from either path, is not stored again.
CREATE TABLE log_event_ids (
    run_pk  INTEGER NOT NULL REFERENCES task_runs(pk),
    boot    TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (run_pk, boot, n)
) WITHOUT ROWID;

-- Direct uploads handed out by prepare_upload/ and not yet finalized.
CREATE TABLE artifact_uploads (
    id              TEXT PRIMARY KEY,
    run_pk          INTEGER NOT NULL REFERENCES task_runs(pk),
    name            TEXT NOT NULL,
    type            TEXT NOT NULL,
    source          TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size            INTEGER NOT NULL,       -- declared size in bytes
    storage_path    TEXT NOT NULL UNIQUE,
    expires_at      INTEGER NOT NULL,       -- Unix seconds
    created_at      TEXT NOT NULL
);
CREATE INDEX artifact_uploads_run ON artifact_uploads(run_pk);

-- Outgoing webhooks of a project. The secret signs every delivery, so it is kept readable.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects(id),
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,              -- JSON array of event names
    secret      TEXT NOT NULL,
    created_by  INTEGER REFERENCES users(id),
    created_at  TEXT NOT NULL,
    deleted_at  TEXT                        -- deleted webhooks keep their delivery log
);
CREATE INDEX webhooks_project ON webhooks(project_id) WHERE deleted_at IS NULL;

-- An event's payload, stored once however many deliveries carry it.
CREATE TABLE webhook_payloads (
    id          INTEGER PRIMARY KEY,
    created_at  TEXT NOT NULL,              -- the event's time: the body's created_at
    data        TEXT NOT NULL               -- the body's `data`, JSON text
);

-- Every outgoing delivery, of project webhooks and of the webhook runner (webhook_id NULL),
-- retried with backoff until delivered or out of attempts. An outbox: written in the same
-- transaction as the change it announces. The body sent and signed is
-- {"id", "event", "created_at", "project_id", "data"}: this row's and its payload's.
CREATE TABLE webhook_deliveries (
    pk              INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    project_id      INTEGER NOT NULL REFERENCES projects(id),
    webhook_id      INTEGER REFERENCES webhooks(id),
    run_pk          INTEGER REFERENCES task_runs(pk),  -- the run a runner delivery hands over
    event           TEXT NOT NULL,
    url             TEXT NOT NULL,
    payload_id      INTEGER NOT NULL REFERENCES webhook_payloads(id),
    status          TEXT NOT NULL,              -- pending, delivered, failed
    attempt_count   INTEGER NOT NULL DEFAULT 0,
    attempts        TEXT NOT NULL DEFAULT '[]', -- JSON list: {at, status_code, error, duration_ms}
    next_attempt_at TEXT,                       -- when pending: the next try (or a lease)
    created_at      TEXT NOT NULL,
    finished_at     TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_project ON webhook_deliveries(project_id, pk);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, pk);
CREATE INDEX webhook_deliveries_payload ON webhook_deliveries(payload_id);

-- Server-side secrets (the signing key for expiring URLs), made once per database.
CREATE TABLE secrets (
    name    TEXT PRIMARY KEY,
    value   BLOB NOT NULL
) WITHOUT ROWID;

-- A task list's pages are cached while their project is unchanged: `projects.version`
-- moves on every change a list page shows, whichever process makes it.
CREATE TRIGGER tasks_insert_version AFTER INSERT ON tasks BEGIN
    UPDATE projects SET version = version + 1 WHERE id = NEW.project_id;
END;
CREATE TRIGGER tasks_update_version AFTER UPDATE ON tasks BEGIN
    UPDATE projects SET version = version + 1 WHERE id IN (OLD.project_id, NEW.project_id);
END;
CREATE TRIGGER tasks_delete_version AFTER DELETE ON tasks BEGIN
    UPDATE projects SET version = version + 1 WHERE id = OLD.project_id;
END;
CREATE TRIGGER runs_insert_version AFTER INSERT ON task_runs BEGIN
    UPDATE projects SET version = version + 1
    WHERE id = (SELECT project_id FROM tasks WHERE pk = NEW.task_pk);
END;
-- Log appends and runner bookkeeping change other columns, which no list shows.
CREATE TRIGGER runs_update_version AFTER UPDATE OF id, task_pk, stage, branch, status,
    environment, error_message, output, state, artifacts, created_at, updated_at,
    completed_at ON task_runs BEGIN
    UPDATE projects SET version = version + 1
    WHERE id IN (SELECT project_id FROM tasks WHERE pk IN (OLD.task_pk, NEW.task_pk));
END;
CREATE TRIGGER runs_delete_version AFTER DELETE ON task_runs BEGIN
    UPDATE projects SET version = version + 1
    WHERE id = (SELECT project_id FROM tasks WHERE pk = OLD.task_pk);
END;
-- A task shows its creator and its project's slug prefix.
CREATE TRIGGER users_update_version AFTER UPDATE OF uuid, distinct_id, first_name, last_name,
    email ON users BEGIN
    UPDATE projects SET version = version + 1;
END;
CREATE TRIGGER projects_name_version AFTER UPDATE OF name ON projects BEGIN
    UPDATE projects SET version = version + 1 WHERE id = NEW.id;
END;

PRAGMA user_version = 6;
