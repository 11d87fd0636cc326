// Turns one log entry (any JSON object) into one readable line: a level for its colour, a
// short kind label, and the text. Knows plain {type, message} entries and the agent's
// notifications (ACP session updates: messages, thoughts, tool calls, plans; console output).

const LEVELS = { error: "error", err: "error", fatal: "error", warn: "warn", warning: "warn", debug: "debug", trace: "debug", info: "info" };
const MAX = 2000;

function oneLine(value) {
  if (value === undefined || value === null) return "";
  const s = typeof value === "string" ? value : JSON.stringify(value);
  const flat = s.replace(/\s+/g, " ").trim();
  return flat.length > MAX ? `${flat.slice(0, MAX)}…` : flat;
}

function contentText(content) {
  if (!content) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map(contentText).join(" ");
  if (content.type === "text" || typeof content.text === "string") return content.text || "";
  if (content.content) return contentText(content.content);
  return JSON.stringify(content);
}

function sessionUpdate(u) {
  const kind = u.sessionUpdate;
  switch (kind) {
    case "agent_message_chunk":
    case "agent_message":
      return { level: "info", kind: "agent", text: contentText(u.content) };
    case "agent_thought_chunk":
      return { level: "debug", kind: "thought", text: contentText(u.content) };
    case "user_message_chunk":
      return { level: "info", kind: "user", text: contentText(u.content) };
    case "tool_call": {
      const input = u.rawInput ? ` ${oneLine(u.rawInput)}` : "";
      return { level: "tool", kind: "tool", text: `${u.title || u.kind || "tool"}${u.status ? ` [${u.status}]` : ""}${input}` };
    }
    case "tool_call_update": {
      const out = u.content ? ` ${contentText(u.content)}` : u.rawOutput ? ` ${oneLine(u.rawOutput)}` : "";
      const level = u.status === "failed" ? "error" : "tool";
      return { level, kind: "tool", text: `${u.title || u.toolCallId || "tool"} → ${u.status || "update"}${out}` };
    }
    case "plan": {
      const items = (u.entries || []).map((e) => `${e.status === "completed" ? "☑" : "☐"} ${e.content}`);
      return { level: "info", kind: "plan", text: items.join("  ") || "plan updated" };
    }
    default:
      return { level: "debug", kind: kind || "update", text: oneLine(u) };
  }
}

function notification(n) {
  const method = String(n.method || "notification");
  const p = n.params || {};
  if (method === "session/update" && p.update) return sessionUpdate(p.update);
  if (/console/i.test(method)) {
    return { level: LEVELS[String(p.level).toLowerCase()] || "info", kind: "console", text: oneLine(p.message ?? p.text ?? p) };
  }
  if (/error/i.test(method)) return { level: "error", kind: method.replace(/^__?posthog\//, ""), text: oneLine(p.message ?? p.error ?? p) };
  const label = method.replace(/^__?posthog\//, "");
  const text = typeof p.message === "string" ? p.message : oneLine(p);
  return { level: "event", kind: label, text };
}

/** {level, kind, text} for an entry; `level` is one of error, warn, info, debug, tool, event. */
export function describe(entry) {
  if (!entry || typeof entry !== "object" || Array.isArray(entry)) {
    return { level: "info", kind: "entry", text: oneLine(entry) };
  }
  if (entry.type === "notification" && entry.notification && typeof entry.notification === "object") {
    const d = notification(entry.notification);
    return { ...d, text: oneLine(d.text) };
  }
  const type = String(entry.type ?? entry.level ?? "");
  // `level` says how bad it is (the runner's stderr, Burrow's own notes); `type` what it is.
  const level = LEVELS[String(entry.level ?? type).toLowerCase()] || "info";
  const message = entry.message ?? entry.msg ?? entry.text;
  if (message !== undefined) return { level, kind: type || "log", text: oneLine(message) };
  return { level, kind: type || "entry", text: oneLine(entry) };
}

// One formatter for every row: toLocaleTimeString builds a new one per call.
const TIME = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

/** The entry's own timestamp, as HH:MM:SS, when it has one. */
export function entryTime(entry) {
  const ts = entry && (entry.timestamp || entry.time || entry.ts);
  if (!ts) return "";
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? "" : TIME.format(d);
}
