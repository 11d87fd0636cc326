// A run's artifacts: name, type, size; diffs and patches previewed as a rendered diff with
// its list of files, other text and Markdown as plain text; every artifact downloadable
// through the API (the bytes are saved from a Blob URL).

import { request, runPath } from "../api.js";
import { h, mount, empty, notice } from "../dom.js";
import { bytes, timeAgo } from "../format.js";
import { renderPatch } from "../diff.js";

const TEXT_NAMES = /\.(md|markdown|txt|log|json|jsonl|ya?ml|toml|csv|diff|patch|py|js|ts|rs|go|sh|html|css|xml)$/i;
const PREVIEW_LIMIT = 2 * 1024 * 1024;

/** A unified diff: `changes.diff`, any `.diff` or `.patch`, or a diff's content type. */
function isDiff(a) {
  const ct = (a.content_type || "").toLowerCase().split(";")[0].trim();
  return ct === "text/x-diff" || ct === "text/x-patch" || /\.(diff|patch)$/i.test(a.name || "");
}

function isText(a) {
  const ct = (a.content_type || "").toLowerCase();
  return ct.startsWith("text/") || ct.includes("json") || ct.includes("yaml") || ct.includes("xml") || TEXT_NAMES.test(a.name || "");
}

async function fetchBytes(ids, a) {
  const res = await request("POST", `${runPath(ids.pid, ids.tid, ids.rid)}artifacts/download/`, { storage_path: a.storage_path }, { raw: true });
  return res.blob();
}

async function download(ids, a, button, status) {
  button.disabled = true;
  status.textContent = "";
  try {
    const blob = await fetchBytes(ids, a);
    const url = URL.createObjectURL(blob);
    const link = h("a", { href: url, download: a.name || "artifact", hidden: true });
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    status.textContent = err.message;
  } finally {
    button.disabled = false;
  }
}

async function preview(ids, a, button, pane) {
  if (!pane.hidden) {
    pane.hidden = true;
    button.textContent = "Preview";
    button.setAttribute("aria-expanded", "false");
    return;
  }
  button.disabled = true;
  try {
    const text = await (await fetchBytes(ids, a)).text();
    // Shown as text, never as markup: Markdown and HTML alike appear as written. A diff is
    // drawn as one, its lines still text.
    mount(pane, isDiff(a) ? renderPatch(text) : h("pre", { class: "artifact-text", text }));
    pane.hidden = false;
    button.textContent = "Hide preview";
    button.setAttribute("aria-expanded", "true");
  } catch (err) {
    mount(pane, notice("error", err.message));
    pane.hidden = false;
  } finally {
    button.disabled = false;
  }
}

function item(ids, a) {
  const status = h("span", { class: "field-error", role: "alert" });
  const pane = h("div", { class: "artifact-preview", hidden: true });
  const dl = h("button", { type: "button", class: "button small", text: "Download" });
  dl.addEventListener("click", () => download(ids, a, dl, status));
  let pv = null;
  if (isText(a) && (a.size || 0) <= PREVIEW_LIMIT) {
    pv = h("button", { type: "button", class: "button small ghost", text: "Preview", "aria-expanded": "false" });
    pv.addEventListener("click", () => preview(ids, a, pv, pane));
  }
  return h(
    "li",
    { class: "artifact", dataset: { name: a.name } },
    h(
      "div",
      { class: "artifact-row" },
      h(
        "div",
        { class: "artifact-info" },
        h("span", { class: "artifact-name", text: a.name }),
        h("span", { class: "artifact-meta muted" }, h("span", { class: "chip", text: a.type || "artifact" }), ` ${bytes(a.size)}`, a.content_type ? ` · ${a.content_type}` : "", " · ", timeAgo(a.uploaded_at)),
      ),
      h("div", { class: "artifact-actions" }, pv, dl),
    ),
    status,
    pane,
  );
}

/** Draws the list into `el`; `ids` = {pid, tid, rid}. */
export function renderArtifacts(el, ids, list) {
  const items = Array.isArray(list) ? list : [];
  mount(
    el,
    h("div", { class: "card-head" }, h("h2", { text: "Artifacts" }), h("span", { class: "muted", text: String(items.length) })),
    items.length
      ? h("ul", { class: "artifacts" }, items.map((a) => item(ids, a)))
      : empty("No artifacts", "Plans, outputs and files the agent uploads to this run appear here."),
  );
}
