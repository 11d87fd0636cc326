// The run log as a conversation, built incrementally: each entry either starts an item
// (message, thought, tool call, plan, note, status line, raw JSON row) or changes one
// (chunks append to the open message; tool_call_update merges into its call by toolCallId; a
// newer plan replaces the old one in place). Changed items get a new `v`, so the view only
// redraws what changed. Knows ACP session/update kinds (protocol version 1, plus the newer
// agent_message, usage_update and session_info_update), the JSON-RPC traffic PostHog's agent
// logs, its `_posthog/*` methods, Burrow's `_burrow/*` ones, and plain {type, level, message}.

const LEVELS = { error: "error", err: "error", fatal: "error", warn: "warn", warning: "warn", debug: "debug", trace: "debug", info: "info" };

/** The level of a plain entry: its `level` when present, else its `type`. */
export function levelOf(entry) {
  const raw = String(entry.level ?? entry.type ?? "").toLowerCase();
  return LEVELS[raw] || "info";
}

/** The text of an ACP content block (or an array of them). */
export function blockText(c) {
  if (c === null || c === undefined) return "";
  if (typeof c === "string") return c;
  if (Array.isArray(c)) return c.map(blockText).join("");
  switch (c.type) {
    case "text":
      return String(c.text ?? "");
    case "image":
      return "[image]";
    case "audio":
      return "[audio]";
    case "resource_link":
      return `[${c.name || c.uri}](${c.uri})`;
    case "resource":
      return c.resource && typeof c.resource.text === "string" ? c.resource.text : `[${(c.resource && c.resource.uri) || "resource"}]`;
    case "content":
      return blockText(c.content);
    default:
      return typeof c.text === "string" ? c.text : "";
  }
}

function compact(value, max = 300) {
  let s;
  try {
    s = typeof value === "string" ? value : JSON.stringify(value);
  } catch {
    s = String(value);
  }
  s = (s ?? "").replace(/\s+/g, " ").trim();
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function tokens(n) {
  return n >= 1000 ? `${(n / 1000).toFixed(n >= 100000 ? 0 : 1)}k` : String(n);
}

/** Reads the token and cost figures of a usage update, whatever its exact shape. */
function usageOf(p) {
  const u = p.usage && typeof p.usage === "object" ? { ...p, ...p.usage } : p;
  const num = (...keys) => {
    for (const k of keys) if (typeof u[k] === "number") return u[k];
    return null;
  };
  const input = num("inputTokens", "input_tokens");
  const output = num("outputTokens", "output_tokens");
  let total = num("used", "totalTokens", "total_tokens");
  if (total === null && (input !== null || output !== null)) total = (input || 0) + (output || 0);
  let cost = null;
  if (u.cost && typeof u.cost === "object" && typeof u.cost.amount === "number") cost = u.cost.amount;
  else cost = num("cost", "costUsd", "cost_usd", "totalCostUsd", "total_cost_usd");
  return { total, size: num("size"), cost };
}

// PostHog's and Burrow's own methods; the ACP SDK's extNotification() may add a second `_`.
const EXT = /^__?(posthog|burrow)\//;

const str = (v) => (v === undefined || v === null ? "" : compact(v, 200));
// What an extension method says, for those whose payload has no `message`.
const EXT_TEXT = {
  run_started: (p) => `Run started${p.runId ? ` (${str(p.runId)})` : ""}`,
  task_complete: (p) => `Task complete${p.stopReason ? `: ${str(p.stopReason)}` : ""}`,
  turn_complete: (p) => `Turn complete${p.stopReason ? `: ${str(p.stopReason).replace(/_/g, " ")}` : ""}`,
  background_turn_complete: (p) => `Background turn complete${p.stopReason ? `: ${str(p.stopReason).replace(/_/g, " ")}` : ""}`,
  branch_created: (p) => `Branch ${str(p.branch)}`,
  pr_created: (p) => `Pull request ${str(p.prUrl ?? p.url ?? p.pr_url)}`,
  phase_start: (p) => `Phase ${str(p.phase)} started`,
  phase_complete: (p) => `Phase ${str(p.phase)} complete`,
  sdk_session: (p) => `Agent session ${str(p.sessionId ?? p.sdkSessionId)}${p.adapter ? ` (${str(p.adapter)})` : ""}`,
  mode_change: (p) => `Mode: ${str(p.mode ?? p.newMode)}`,
  git_checkpoint: (p) => `Git checkpoint${p.commit || p.checkpointId ? ` ${str(p.commit ?? p.checkpointId)}` : ""}`,
  tree_snapshot: () => "Tree snapshot captured",
  compact_boundary: () => "Context compacted",
  cancel: () => "Cancel requested",
  close: () => "Session closed",
  usage_update: (p) => fields(usageOf(p)),
  artifact: (p) => `Artifact${p.kind ? `: ${str(p.kind)}` : ""}`,
  phase: (p) => `Phase ${str(p.phase)}`,
};

/** "key: value · key: value" for the plain fields of an object: a status line, not JSON. */
function fields(p) {
  const parts = [];
  for (const [k, v] of Object.entries(p || {})) {
    if (k === "sessionId" || k === "_meta" || v === null || v === undefined || v === "") continue;
    parts.push(`${k}: ${typeof v === "object" ? compact(v, 80) : compact(v, 120)}`);
    if (parts.length === 6) break;
  }
  return parts.join(" · ");
}

export class Conversation {
  constructor() {
    this.items = [];
    this.tools = new Map(); // toolCallId → item
    this.requests = new Map(); // JSON-RPC id → the method it asked, to name its result
    this.plan = null;
    this.open = null; // the message or thought that the next chunk of its kind extends
    this.usage = null;
    this.permission = null; // the pending session/request_permission, if any
    this.changed = false; // the header (plan progress, usage, permission) changed
  }

  add(type, fields) {
    // Only consecutive chunks merge: anything else in between closes the open message.
    this.open = null;
    const item = { type, v: 0, index: this.items.length, ...fields };
    this.items.push(item);
    return item;
  }

  touch(item) {
    item.v += 1;
    this.dirty.add(item.index);
  }

  /** Takes [{seq, entry}]; returns the indices of items that changed (new ones excluded). */
  push(batch) {
    this.dirty = new Set();
    for (const { seq, entry } of batch) this.entry(seq, entry);
    return this.dirty;
  }

  entry(seq, e) {
    if (!e || typeof e !== "object" || Array.isArray(e)) {
      this.add("line", { seq, level: "info", label: "entry", text: compact(e) });
      return;
    }
    if (e.type === "notification" && e.notification && typeof e.notification === "object") {
      this.rpc(seq, e.notification);
      return;
    }
    const message = e.message ?? e.msg ?? e.text;
    if (message !== undefined) {
      const label = e.source === "burrow" ? "burrow" : e.stream || String(e.type || "log");
      this.add("line", { seq, level: levelOf(e), label, text: compact(message, 2000) });
      return;
    }
    this.add("json", { seq, level: levelOf(e), text: compact(e, 2000) });
  }

  rpc(seq, msg) {
    const method = typeof msg.method === "string" ? msg.method : null;
    const p = msg.params && typeof msg.params === "object" ? msg.params : {};
    if (method && msg.id !== undefined) this.requests.set(String(msg.id), method);
    if (method === "session/update" && p.update && typeof p.update === "object") return this.update(seq, p.update);
    if (method === "session/prompt") return this.add("message", { seq, role: "user", text: blockText(p.prompt) });
    if (method === "session/request_permission") {
      this.permission = { id: msg.id, seq, toolCall: p.toolCall || {}, options: Array.isArray(p.options) ? p.options : [] };
      this.changed = true;
      return this.add("line", { seq, level: "warn", label: "permission", text: `Asks permission: ${(p.toolCall && p.toolCall.title) || "a tool call"}` });
    }
    if (method === "initialize") return this.add("note", { seq, text: `Initialize (protocol version ${p.protocolVersion ?? "?"})` });
    if (method === "session/new" || method === "session/load") return this.add("note", { seq, text: `${method === "session/new" ? "New session" : "Load session"}${p.cwd ? ` in ${p.cwd}` : ""}` });
    if (method === "session/cancel") return this.add("note", { seq, level: "warn", text: "Cancel requested" });
    if (method && EXT.test(method)) return this.extension(seq, method, p);
    if (!method && (msg.result !== undefined || msg.error !== undefined)) return this.result(seq, msg);
    return this.add("json", { seq, level: "debug", label: method || "message", text: compact(msg, 2000) });
  }

  result(seq, msg) {
    const asked = this.requests.get(String(msg.id));
    if (this.permission && String(this.permission.id) === String(msg.id)) {
      this.permission = null;
      this.changed = true;
    }
    if (msg.error) return this.add("line", { seq, level: "error", label: asked || "error", text: compact(msg.error.message ?? msg.error) });
    const r = msg.result && typeof msg.result === "object" ? msg.result : {};
    let text;
    if (r.stopReason) {
      text = `Turn ended: ${String(r.stopReason).replace(/_/g, " ")}`;
    } else if (asked === "initialize") text = `Agent ready${r.agentInfo && r.agentInfo.name ? `: ${r.agentInfo.name}` : ""} (protocol version ${r.protocolVersion ?? "?"})`;
    else if (asked === "session/new") text = `Session ${compact(r.sessionId ?? "", 60)} started`;
    else if (r.outcome) text = `Permission: ${compact(r.outcome.optionId || r.outcome.outcome || r.outcome, 80)}`;
    else text = `${asked || "result"}: ${compact(msg.result, 200)}`;
    return this.add("note", { seq, text });
  }

  extension(seq, method, p) {
    const name = method.replace(EXT, "");
    if (name === "usage_update") this.setUsage(p);
    if (name === "user_message") return this.add("message", { seq, role: "user", text: blockText(p.content ?? p.message ?? p.text ?? p.prompt) });
    let level = LEVELS[String(p.level ?? "").toLowerCase()] || (/error|fail/i.test(name) ? "error" : "info");
    if (name === "turn_complete" || name === "phase_complete") level = "info";
    const message = p.message ?? p.text ?? p.status;
    const said = EXT_TEXT[name] ? EXT_TEXT[name](p) : "";
    const text = message !== undefined && typeof message !== "object" ? compact(message, 2000) : said || fields(p);
    return this.add("line", { seq, level, label: name.replace(/_/g, " "), text, ext: true });
  }

  setUsage(p) {
    const u = usageOf(p);
    if (u.total === null && u.cost === null) return;
    this.usage = { ...this.usage, ...Object.fromEntries(Object.entries(u).filter(([, v]) => v !== null)) };
    this.changed = true;
  }

  /** "12.3k tokens · $0.42" for the run header. */
  usageText() {
    const u = this.usage;
    if (!u) return "";
    const parts = [];
    if (u.total !== undefined) parts.push(`${tokens(u.total)}${u.size ? ` of ${tokens(u.size)}` : ""} tokens`);
    if (u.cost !== undefined) parts.push(`$${u.cost.toFixed(2)}`);
    return parts.join(" · ");
  }

  /** "3 of 5 steps done", or "" without a plan. */
  planText() {
    if (!this.plan) return "";
    const all = this.plan.entries.length;
    const done = this.plan.entries.filter((e) => e.status === "completed").length;
    return `${done} of ${all} ${all === 1 ? "step" : "steps"} done`;
  }

  chunk(seq, type, role, text) {
    const o = this.open;
    if (o && o.type === type && o.role === role) {
      o.text += text;
      this.touch(o);
      return o;
    }
    this.open = this.add(type, { seq, role, text, open: false });
    return this.open;
  }

  update(seq, u) {
    const kind = u.sessionUpdate;
    switch (kind) {
      case "agent_message_chunk":
        return this.chunk(seq, "message", "agent", blockText(u.content));
      case "user_message_chunk":
        return this.chunk(seq, "message", "user", blockText(u.content));
      case "agent_thought_chunk":
        return this.chunk(seq, "thought", "agent", blockText(u.content));
      case "agent_message":
        return this.add("message", { seq, role: "agent", text: blockText(u.content ?? u.message) });
      case "tool_call":
      case "tool_call_update":
        return this.tool(seq, u);
      case "plan": {
        const entries = Array.isArray(u.entries) ? u.entries : [];
        this.changed = true;
        if (this.plan) {
          this.plan.entries = entries;
          this.plan.updates += 1;
          this.touch(this.plan);
          return this.plan;
        }
        this.plan = this.add("plan", { seq, entries, updates: 1 });
        return this.plan;
      }
      case "current_mode_update":
        return this.add("note", { seq, text: `Mode: ${u.currentModeId ?? u.modeId ?? "?"}` });
      case "available_commands_update": {
        const cmds = Array.isArray(u.availableCommands) ? u.availableCommands : [];
        const names = cmds.map((c) => `/${c.name}`).slice(0, 12).join(" ");
        return this.add("note", { seq, text: `${cmds.length} ${cmds.length === 1 ? "command" : "commands"} available${names ? `: ${names}${cmds.length > 12 ? " …" : ""}` : ""}` });
      }
      case "usage_update":
        this.setUsage(u);
        return null;
      case "config_option_update": {
        const opts = Array.isArray(u.configOptions) ? u.configOptions : [];
        const shown = opts.slice(0, 8).map((o) => `${compact(o.name ?? o.id, 60)}${o.currentValue !== undefined ? `: ${compact(o.currentValue, 60)}` : ""}`);
        return this.add("note", { seq, text: `Settings${shown.length ? `: ${shown.join(", ")}${opts.length > 8 ? " …" : ""}` : " updated"}` });
      }
      case "notice": {
        const level = { error: "error", warning: "warn" }[u.severity] || "info";
        return this.add("line", { seq, level, label: "notice", text: compact(`${u.title ?? ""}${u.description ? ` — ${u.description}` : ""}`, 2000) });
      }
      case "compaction_update": {
        const said = { in_progress: "Compacting the context…", completed: "Context compacted", failed: "Compacting the context failed", cancelled: "Compacting the context was cancelled" };
        const text = `${said[u.status] || `Compaction: ${compact(u.status ?? "", 60)}`}${u.error ? `: ${compact(u.error, 300)}` : ""}`;
        return this.add(u.status === "failed" ? "line" : "note", { seq, level: u.status === "failed" ? "error" : "info", label: "compaction", text });
      }
      case "compaction_summary_chunk":
        return this.chunk(seq, "thought", "summary", blockText(u.content));
      case "plan_update": {
        // Unstable in ACP: a plan by id, as entries (or a file or Markdown, shown as a note).
        const plan = u.plan && typeof u.plan === "object" ? u.plan : {};
        if (Array.isArray(plan.entries)) return this.update(seq, { sessionUpdate: "plan", entries: plan.entries });
        return this.add("note", { seq, text: `Plan updated${plan.uri ? `: ${compact(plan.uri, 200)}` : ""}` });
      }
      case "plan_removed":
        return this.add("note", { seq, text: "Plan removed" });
      case "session_info_update":
        return this.add("note", { seq, text: `Session${u.title ? `: ${compact(u.title, 200)}` : ` info: ${compact(u, 200)}`}` });
      default:
        return this.add("json", { seq, level: "debug", label: kind || "update", text: compact(u, 2000) });
    }
  }

  tool(seq, u) {
    const id = String(u.toolCallId ?? "");
    let item = id ? this.tools.get(id) : null;
    if (!item) {
      item = this.add("tool", { seq, id, kind: "other", title: "", status: "pending", locations: [], content: [], rawInput: null, rawOutput: null, open: false });
      if (id) this.tools.set(id, item);
    } else this.touch(item);
    for (const key of ["kind", "title", "status", "rawInput", "rawOutput"]) {
      if (u[key] !== undefined && u[key] !== null && u[key] !== "") item[key] = u[key];
    }
    if (Array.isArray(u.locations)) item.locations = u.locations;
    if (Array.isArray(u.content)) item.content = u.content;
    if (item.status === "failed") item.open = true;
    return item;
  }
}
