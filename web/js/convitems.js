// How each conversation item looks: messages as Markdown, a collapsed "Thinking" block, a
// tool call card (kind icon, title, status, locations, text, diffs, terminal output), the
// plan checklist, small notes, status lines, and the compact JSON row for the unknown.

import { h } from "./dom.js";
import { markdown, codeBlock } from "./markdown.js";
import { renderEdit } from "./diff.js";
import { blockText } from "./convmodel.js";

// Plain symbols that common fonts have (emoji fonts are often missing on servers and Linux).
const ICONS = { read: "▤", edit: "✎", delete: "✕", move: "⇄", search: "⌕", execute: "▶", think: "✱", fetch: "⇣", switch_mode: "⇆", other: "⚙" };
const STATUS = { pending: "Pending", in_progress: "Running", completed: "Done", failed: "Failed" };
const PLAN_MARK = { completed: "☑", in_progress: "◐", pending: "☐" };

function message(item) {
  const who = item.role === "user" ? "You" : "Agent";
  return h(
    "article",
    { class: `conv-msg ${item.role}` },
    h("div", { class: "conv-who", text: item.role === "user" ? "Prompt" : who }),
    item.text.trim() ? markdown(item.text) : h("p", { class: "muted", text: "…" }),
  );
}

function thought(item) {
  const details = h("details", { class: "conv-thought", open: item.open }, h("summary", {}, h("span", { text: item.role === "summary" ? "Context summary" : "Thinking" }), h("span", { class: "muted", text: ` · ${item.text.length.toLocaleString("en")} characters` })));
  details.addEventListener("toggle", () => {
    item.open = details.open;
    // Only an open block holds its (possibly long) text in the DOM.
    if (details.open && details.childNodes.length === 1) details.appendChild(markdown(item.text));
  });
  if (item.open) details.appendChild(markdown(item.text));
  return details;
}

function toolContent(c) {
  if (!c || typeof c !== "object") return null;
  if (c.type === "diff") return renderEdit(c);
  if (c.type === "terminal") return h("div", { class: "conv-terminal muted", text: `Terminal ${c.terminalId || ""}` });
  const text = blockText(c);
  return text ? codeBlock(text) : null;
}

function rawOutputText(raw) {
  if (raw === null || raw === undefined) return "";
  if (typeof raw === "string") return raw;
  for (const k of ["output", "stdout", "stderr", "result", "text"]) if (typeof raw[k] === "string" && raw[k]) return raw[k];
  return JSON.stringify(raw, null, 2);
}

function tool(item) {
  const kind = ICONS[item.kind] ? item.kind : "other";
  const status = String(item.status || "pending");
  const body = h("div", { class: "tool-body" });
  const locs = (item.locations || []).filter((l) => l && l.path);
  if (locs.length) body.appendChild(h("ul", { class: "tool-locs" }, locs.map((l) => h("li", { class: "mono", text: l.line ? `${l.path}:${l.line}` : l.path }))));
  const parts = (item.content || []).map(toolContent).filter(Boolean);
  const hasTerminal = (item.content || []).some((c) => c && c.type === "terminal");
  if (parts.length) body.append(...parts);
  if ((!parts.length || hasTerminal) && item.rawOutput !== null && item.rawOutput !== undefined) body.appendChild(codeBlock(rawOutputText(item.rawOutput)));
  if (!parts.length && item.rawInput && Object.keys(item.rawInput).length && item.rawOutput == null) {
    body.appendChild(h("pre", { class: "tool-input", text: JSON.stringify(item.rawInput, null, 2).slice(0, 4000) }));
  }
  const hasDiff = (item.content || []).some((c) => c && c.type === "diff");
  const expanded = item.open || hasDiff || status === "failed";
  const details = h(
    "details",
    { class: "tool-card", dataset: { status, kind }, open: expanded && body.childNodes.length > 0 },
    h(
      "summary",
      {},
      h("span", { class: "tool-icon", "aria-hidden": "true", text: ICONS[kind] }),
      h("span", { class: "tool-kind", text: kind.replace("_", " ") }),
      h("span", { class: "tool-title", text: item.title || item.id || "Tool call" }),
      h("span", { class: "tool-status", text: STATUS[status] || status }),
    ),
    body,
  );
  details.addEventListener("toggle", () => (item.open = details.open));
  return details;
}

function plan(item) {
  const done = item.entries.filter((e) => e.status === "completed").length;
  return h(
    "section",
    { class: "conv-plan", "aria-label": "Plan" },
    h("div", { class: "conv-plan-head" }, h("strong", { text: "Plan" }), h("span", { class: "muted", text: `${done} of ${item.entries.length} done${item.updates > 1 ? ` · updated ${item.updates - 1}×` : ""}` })),
    h(
      "ul",
      {},
      item.entries.map((e) =>
        h("li", { dataset: { status: e.status || "pending", priority: e.priority || "" } }, h("span", { class: "check", "aria-hidden": "true", text: PLAN_MARK[e.status] || "☐" }), h("span", { text: String(e.content ?? "") })),
      ),
    ),
  );
}

function line(item) {
  return h("div", { class: "conv-line", dataset: { level: item.level || "info" } }, h("span", { class: "conv-label", text: item.label || "" }), h("span", { class: "conv-text", text: item.text }));
}

/** The element of one conversation item. */
export function renderItem(item) {
  switch (item.type) {
    case "message":
      return message(item);
    case "thought":
      return thought(item);
    case "tool":
      return tool(item);
    case "plan":
      return plan(item);
    case "note":
      return h("div", { class: "conv-note", dataset: { level: item.level || "info" }, text: item.text });
    case "line":
      return line(item);
    default:
      return h("div", { class: "conv-line conv-json", dataset: { level: item.level || "debug" } }, h("span", { class: "conv-label", text: item.label || "json" }), h("span", { class: "conv-text mono", text: item.text }));
  }
}

/** A rough height before the item is measured, so the scrollbar is close from the start. */
export function estimate(item) {
  switch (item.type) {
    case "message":
      return 44 + 22 * Math.ceil((item.text.length + 1) / 90);
    case "tool":
      return item.content.some((c) => c && c.type === "diff") ? 220 : 46;
    case "plan":
      return 48 + 26 * item.entries.length;
    case "thought":
      return 42;
    default:
      return 28;
  }
}
