// Unified diffs, built and drawn in the page: a line diff (Myers, after trimming the common
// head and tail) of an edit's old and new text grouped into hunks with three lines of
// context, and the rendering of those hunks or of a `.diff`/`.patch` text, as DOM nodes.

import { h } from "./dom.js";

const CONTEXT = 3;
const MAX_EDITS = 1000; // past this many changed lines, show old as removed and new as added
const SHOWN = 40; // lines shown before "Show all"

/** The edit script of two line arrays: [{op: " " | "-" | "+", text}]. */
export function diffLines(a, b) {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA -= 1;
    endB -= 1;
  }
  const head = a.slice(0, start).map((text) => ({ op: " ", text }));
  const tail = a.slice(endA).map((text) => ({ op: " ", text }));
  const mid = myers(a.slice(start, endA), b.slice(start, endB));
  return head.concat(mid, tail);
}

function myers(a, b) {
  const n = a.length;
  const m = b.length;
  if (!n) return b.map((text) => ({ op: "+", text }));
  if (!m) return a.map((text) => ({ op: "-", text }));
  const max = Math.min(n + m, MAX_EDITS);
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace = [];
  for (let d = 0; d <= max; d += 1) {
    trace.push(v.slice(off - d - 1, off + d + 2)); // only diagonals -d-1..d+1 matter at d
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x += 1;
        y += 1;
      }
      v[off + k] = x;
      if (x >= n && y >= m) return backtrack(trace, a, b, d);
    }
  }
  return a.map((text) => ({ op: "-", text })).concat(b.map((text) => ({ op: "+", text })));
}

function backtrack(trace, a, b, dEnd) {
  const out = [];
  let x = a.length;
  let y = b.length;
  for (let d = dEnd; d > 0; d -= 1) {
    const v = trace[d];
    const at = (kk) => v[kk + d + 1];
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const px = at(prevK);
    const py = px - prevK;
    while (x > px && y > py) {
      x -= 1;
      y -= 1;
      out.push({ op: " ", text: a[x] });
    }
    if (x === px) out.push({ op: "+", text: b[--y] });
    else out.push({ op: "-", text: a[--x] });
  }
  while (x > 0 && y > 0) {
    x -= 1;
    y -= 1;
    out.push({ op: " ", text: a[x] });
  }
  return out.reverse();
}

const split = (text) => (text ? String(text).replace(/\r\n?/g, "\n").replace(/\n$/, "").split("\n") : []);

/** Hunks of an edit: [{oldStart, oldLines, newStart, newLines, lines: [{op, text, o, n}]}]. */
export function hunks(oldText, newText) {
  const script = diffLines(split(oldText), split(newText));
  let o = 1;
  let n = 1;
  const numbered = script.map((l) => {
    const line = { ...l, o: l.op === "+" ? null : o, n: l.op === "-" ? null : n };
    if (l.op !== "+") o += 1;
    if (l.op !== "-") n += 1;
    return line;
  });
  const out = [];
  let cur = null;
  let lastChange = -Infinity;
  numbered.forEach((l, i) => {
    if (l.op === " ") return;
    const from = Math.max(0, i - CONTEXT);
    if (!cur || from > lastChange + CONTEXT + 1) {
      if (cur) cur.lines.push(...numbered.slice(cur.end, Math.min(numbered.length, lastChange + CONTEXT + 1)));
      cur = { lines: numbered.slice(from, i), end: i };
      out.push(cur);
    } else cur.lines.push(...numbered.slice(cur.end, i));
    cur.lines.push(l);
    cur.end = i + 1;
    lastChange = i;
  });
  if (cur) cur.lines.push(...numbered.slice(cur.end, Math.min(numbered.length, lastChange + CONTEXT + 1)));
  for (const hk of out) {
    const olds = hk.lines.filter((l) => l.o !== null);
    const news = hk.lines.filter((l) => l.n !== null);
    hk.oldStart = olds.length ? olds[0].o : 0;
    hk.oldLines = olds.length;
    hk.newStart = news.length ? news[0].n : 0;
    hk.newLines = news.length;
    delete hk.end;
  }
  return out;
}

function lineRow(op, text, o, n) {
  const cls = op === "+" ? "add" : op === "-" ? "del" : op === "@" ? "hunk" : "ctx";
  return h(
    "div",
    { class: `diff-line ${cls}` },
    h("span", { class: "ln", text: o ?? "" }),
    h("span", { class: "ln", text: n ?? "" }),
    h("span", { class: "op", "aria-hidden": "true", text: op === "@" ? "" : op }),
    h("span", { class: "code", text }),
  );
}

/** Rows folded past SHOWN lines behind a "Show all" button. */
function folded(rows) {
  const body = h("div", { class: "diff-body" });
  body.append(...rows.slice(0, SHOWN));
  if (rows.length <= SHOWN + 8) {
    body.append(...rows.slice(SHOWN));
    return body;
  }
  const more = h("button", { type: "button", class: "button ghost small more", text: `Show all ${rows.length} lines` });
  more.addEventListener("click", () => {
    more.remove();
    body.append(...rows.slice(SHOWN));
  });
  return h("div", {}, body, more);
}

/** An edit's diff (`path`, `oldText`, `newText`) as a unified diff with counts. */
export function renderEdit({ path, oldText, newText }) {
  const hs = hunks(oldText ?? "", newText ?? "");
  let added = 0;
  let removed = 0;
  const rows = [];
  for (const hk of hs) {
    rows.push(lineRow("@", `@@ -${hk.oldStart},${hk.oldLines} +${hk.newStart},${hk.newLines} @@`));
    for (const l of hk.lines) {
      if (l.op === "+") added += 1;
      if (l.op === "-") removed += 1;
      rows.push(lineRow(l.op, l.text, l.o, l.n));
    }
  }
  const isNew = oldText === null || oldText === undefined;
  return h(
    "div",
    { class: "diff" },
    h(
      "div",
      { class: "diff-head" },
      h("span", { class: "mono diff-path", text: path || "(file)" }),
      isNew ? h("span", { class: "diff-tag", text: "new file" }) : null,
      h("span", { class: "diff-count add", text: `+${added}` }),
      h("span", { class: "diff-count del", text: `−${removed}` }),
    ),
    rows.length ? folded(rows) : h("p", { class: "muted diff-none", text: "No changes." }),
  );
}

/** The files of a unified diff text: [{path, added, removed, lines: [text]}]. */
export function parsePatch(text) {
  const files = [];
  let cur = null;
  for (const line of String(text).replace(/\r\n?/g, "\n").replace(/\n$/, "").split("\n")) {
    const git = /^diff --git a\/(.*?) b\/(.*)$/.exec(line);
    if (git || (line.startsWith("--- ") && (!cur || cur.hunks))) {
      cur = { path: git ? git[2] : "", added: 0, removed: 0, lines: [], hunks: false };
      files.push(cur);
      if (git) continue;
    }
    if (!cur) continue;
    if (!cur.hunks && line.startsWith("+++ ")) {
      const p = line.slice(4).replace(/^b\//, "").split("\t")[0];
      if (p !== "/dev/null") cur.path = p;
      continue;
    }
    if (!cur.hunks && line.startsWith("--- ")) {
      if (!cur.path) cur.path = line.slice(4).replace(/^a\//, "").split("\t")[0];
      continue;
    }
    if (line.startsWith("@@")) cur.hunks = true;
    if (!cur.hunks) continue;
    if (line.startsWith("+")) cur.added += 1;
    else if (line.startsWith("-")) cur.removed += 1;
    cur.lines.push(line);
  }
  return files.filter((f) => f.lines.length || f.path);
}

let patches = 0; // numbers each drawn patch, so two on a page link to their own files

/** A `.diff`/`.patch` text as a list of files, then each file's coloured lines. */
export function renderPatch(text) {
  const files = parsePatch(text);
  const id = `patch-${(patches += 1)}`;
  if (!files.length) return h("pre", { class: "artifact-text", text });
  const list = h(
    "ul",
    { class: "diff-files" },
    files.map((f, i) =>
      h("li", {}, h("a", { href: `#${id}-file-${i}`, class: "mono", text: f.path }), h("span", { class: "diff-count add", text: `+${f.added}` }), h("span", { class: "diff-count del", text: `−${f.removed}` })),
    ),
  );
  const bodies = files.map((f, i) => {
    let o = 0;
    let n = 0;
    const rows = f.lines.map((l) => {
      const m = /^@@ -(\d+)(?:,\d+)? \+(\d+)/.exec(l);
      if (m) {
        o = Number(m[1]);
        n = Number(m[2]);
        return lineRow("@", l);
      }
      const op = l[0] === "+" || l[0] === "-" ? l[0] : " ";
      const row = lineRow(op, l.slice(1), op === "+" ? null : o, op === "-" ? null : n);
      if (op !== "+") o += 1;
      if (op !== "-") n += 1;
      return row;
    });
    return h(
      "div",
      { class: "diff", id: `${id}-file-${i}` },
      h("div", { class: "diff-head" }, h("span", { class: "mono diff-path", text: f.path }), h("span", { class: "diff-count add", text: `+${f.added}` }), h("span", { class: "diff-count del", text: `−${f.removed}` })),
      folded(rows),
    );
  });
  return h("div", { class: "patch" }, h("p", { class: "muted", text: `${files.length} ${files.length === 1 ? "file" : "files"} changed` }), list, ...bodies);
}
