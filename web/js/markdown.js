// A small Markdown renderer for agent messages that builds DOM nodes, never HTML strings:
// headings, paragraphs, lists, block quotes, rules, fenced and indented code, inline code,
// emphasis and links. Agent text is hostile input: raw HTML stays text, and a link is only
// a link for http(s) URLs, opening in a new tab with rel=noopener.

import { h } from "./dom.js";

const CODE_LINES = 40; // a longer code block is cut here until the reader asks for more

/** A safe href for `url`, or null: only absolute http(s) URLs become links. */
export function safeHref(url) {
  try {
    const u = new URL(String(url).trim());
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch {
    return null;
  }
}

function link(text, url) {
  const href = safeHref(url);
  if (!href) return document.createTextNode(text);
  return h("a", { href, target: "_blank", rel: "noopener noreferrer", text });
}

// Inline spans, left to right: `code`, **strong**, *em* / _em_, [text](url), <url>, bare URLs.
const INLINE = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([^*\n][\s\S]*?)\*\*|__([^_\n][\s\S]*?)__|\*([^*\s][^*\n]*?)\*|\b_([^_\s][^_\n]*?)_\b|\[([^\]\n]+)\]\(([^)\s]+)(?:\s+"[^"]*")?\)|<(https?:\/\/[^>\s]+)>|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/g;

/** Appends the inline Markdown of `text` to `parent` as nodes. */
export function inline(parent, text) {
  let last = 0;
  const re = new RegExp(INLINE.source, "g"); // its own lastIndex: inline() recurses
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
    if (m[2] !== undefined) parent.appendChild(h("code", { text: m[2].replace(/^ (.*) $/, "$1") }));
    else if (m[3] !== undefined || m[4] !== undefined) inline(parent.appendChild(h("strong")), m[3] ?? m[4]);
    else if (m[5] !== undefined || m[6] !== undefined) inline(parent.appendChild(h("em")), m[5] ?? m[6]);
    else if (m[7] !== undefined) parent.appendChild(link(m[7], m[8]));
    else parent.appendChild(link(m[9] ?? m[10], m[9] ?? m[10]));
    last = re.lastIndex;
  }
  if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  return parent;
}

/** A code block, cut at CODE_LINES lines with a button that shows the rest. */
export function codeBlock(code, lang = "") {
  const lines = code.split("\n");
  const pre = h("pre", { class: "md-code", dataset: lang ? { lang } : {} });
  const codeEl = h("code");
  pre.appendChild(codeEl);
  if (lines.length <= CODE_LINES + 5) {
    codeEl.textContent = code;
    return pre;
  }
  codeEl.textContent = lines.slice(0, CODE_LINES).join("\n");
  const more = h("button", { type: "button", class: "button ghost small more", text: `Show ${lines.length - CODE_LINES} more lines` });
  more.addEventListener("click", () => {
    codeEl.textContent = code;
    more.remove();
  });
  return h("div", { class: "md-code-wrap" }, pre, more);
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const BULLET = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;

/** Renders Markdown `text` into a new element (class md). */
export function markdown(text) {
  const root = h("div", { class: "md" });
  blocks(root, String(text).replace(/\r\n?/g, "\n").split("\n"), 0);
  return root;
}

function blocks(parent, lines, depth) {
  let i = 0;
  let para = [];
  const flush = () => {
    if (para.length) parent.appendChild(inline(h("p"), para.join(" ").trim()));
    para = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      flush();
      const close = fence[1];
      const body = [];
      i += 1;
      while (i < lines.length && !lines[i].trimStart().startsWith(close)) body.push(lines[i++]);
      i += 1; // the closing fence (or the end of a message still streaming)
      parent.appendChild(codeBlock(body.join("\n"), fence[2]));
      continue;
    }
    if (!line.trim()) {
      flush();
      i += 1;
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flush();
      parent.appendChild(inline(h(`h${Math.min(6, heading[1].length + 2)}`, { class: "md-h" }), heading[2]));
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      flush();
      parent.appendChild(h("hr"));
      i += 1;
      continue;
    }
    if (QUOTE.test(line) && depth < 4) {
      flush();
      const body = [];
      while (i < lines.length && QUOTE.test(lines[i])) body.push(QUOTE.exec(lines[i++])[1]);
      blocks(parent.appendChild(h("blockquote")), body, depth + 1);
      continue;
    }
    const bullet = BULLET.exec(line);
    if (bullet && depth < 6) {
      flush();
      i = list(parent, lines, i, depth);
      continue;
    }
    if (/^ {4,}\S/.test(line) && !para.length) {
      const body = [];
      while (i < lines.length && (/^ {4}/.test(lines[i]) || !lines[i].trim())) body.push(lines[i++].slice(4));
      while (body.length && !body[body.length - 1].trim()) body.pop();
      parent.appendChild(codeBlock(body.join("\n")));
      continue;
    }
    para.push(line.trim());
    i += 1;
  }
  flush();
}

/** A list starting at lines[i]; items take their indented continuation lines. */
function list(parent, lines, i, depth) {
  const first = BULLET.exec(lines[i]);
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const el = h(ordered ? "ol" : "ul");
  if (ordered && parseInt(first[2], 10) !== 1) el.setAttribute("start", String(parseInt(first[2], 10)));
  parent.appendChild(el);
  while (i < lines.length) {
    const m = BULLET.exec(lines[i]);
    if (!m || m[1].length !== indent || /\d/.test(m[2]) !== ordered) break;
    const body = [m[3]];
    i += 1;
    while (i < lines.length) {
      const next = lines[i];
      if (!next.trim()) {
        // A blank line ends the item unless the list goes on, indented, after it.
        const after = lines[i + 1];
        if (after !== undefined && after.trim() && (after.length - after.trimStart().length) > indent) {
          body.push("");
          i += 1;
          continue;
        }
        break;
      }
      const nb = BULLET.exec(next);
      if (nb && nb[1].length <= indent) break;
      if (!nb && next.length - next.trimStart().length <= indent && (FENCE.test(next) || HEADING.test(next))) break;
      body.push(next.slice(Math.min(indent + 2, next.length - next.trimStart().length)));
      i += 1;
    }
    const item = h("li");
    const task = /^\[([ xX])\]\s+/.exec(body[0]);
    if (task) {
      body[0] = body[0].slice(task[0].length);
      item.classList.add("task-item");
      item.appendChild(h("span", { class: "check", "aria-hidden": "true", text: task[1] === " " ? "☐" : "☑" }));
    }
    // A tight item is inline text; anything more becomes blocks.
    if (body.length === 1 || body.every((l) => !BULLET.test(l) && !FENCE.test(l) && l.trim())) inline(item, body.join(" ").trim());
    else blocks(item, body, depth + 1);
    el.appendChild(item);
  }
  while (i < lines.length && !lines[i].trim()) i += 1;
  return i;
}
