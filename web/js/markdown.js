// Agent messages as Markdown: parsed by `marked` and sanitized by DOMPurify (both vendored in
// web/vendor/, see its README). Agent text is hostile input, so there are two locks: raw HTML
// in the text is escaped by the renderer (it shows as text), and DOMPurify then keeps only the
// elements Markdown makes and only http(s) and mailto links, which open in a new tab with
// rel="noopener noreferrer". Images become links. Long code blocks are cut until asked for.

import { Marked } from "../vendor/marked.esm.js";
import DOMPurify from "../vendor/purify.es.mjs";
import { h } from "./dom.js";

const CODE_LINES = 40; // a longer code block is cut here until the reader asks for more

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => ESCAPES[c]);

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    // Raw HTML, block or inline, is text.
    html: ({ text }) => escape(text),
    // Headings sit below the page's own h1 and h2.
    heading({ tokens, depth }) {
      const level = Math.min(6, depth + 2);
      return `<h${level} class="md-h">${this.parser.parseInline(tokens)}</h${level}>\n`;
    },
    checkbox: ({ checked }) => `<span class="check" aria-hidden="true">${checked ? "☑" : "☐"}</span> `,
    image: ({ href, text }) => `<a href="${escape(href)}">${escape(text || href)}</a>`,
  },
});

const ALLOWED_TAGS = ["a", "p", "br", "hr", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "span", "table", "thead", "tbody", "tr", "th", "td"];
const ALLOWED_ATTR = ["href", "title", "class", "start", "align", "aria-hidden"];

// Its own DOMPurify, so its link hook applies to agent text only.
const purify = DOMPurify(window);
purify.addHook("afterSanitizeAttributes", (node) => {
  if (node.nodeName !== "A") return;
  const href = safeHref(node.getAttribute("href"));
  if (!href) {
    node.removeAttribute("href");
    return;
  }
  node.setAttribute("href", href);
  node.setAttribute("target", "_blank");
  node.setAttribute("rel", "noopener noreferrer");
});
const SANITIZE = { ALLOWED_TAGS, ALLOWED_ATTR, ALLOWED_URI_REGEXP: /^(?:https?|mailto):/i, RETURN_DOM_FRAGMENT: true };

/** A safe href for `url`, or null: only absolute http(s) and mailto URLs become links. */
export function safeHref(url) {
  try {
    const u = new URL(String(url ?? "").trim());
    return u.protocol === "http:" || u.protocol === "https:" || u.protocol === "mailto:" ? u.href : null;
  } catch {
    return null;
  }
}

/** Cuts `codeEl` (inside `pre`) at CODE_LINES lines, with a button that shows the rest; returns
 * the element to place. */
function cut(pre, codeEl) {
  const code = codeEl.textContent;
  const lines = code.split("\n");
  if (lines.length <= CODE_LINES + 5) return pre;
  codeEl.textContent = lines.slice(0, CODE_LINES).join("\n");
  const more = h("button", { type: "button", class: "button ghost small more", text: `Show ${lines.length - CODE_LINES} more lines` });
  more.addEventListener("click", () => {
    codeEl.textContent = code;
    more.remove();
  });
  return h("div", { class: "md-code-wrap" }, pre, more);
}

/** A code block of plain text (tool output), cut like a Markdown one. */
export function codeBlock(code, lang = "") {
  const codeEl = h("code", { text: code });
  return cut(h("pre", { class: "md-code", dataset: lang ? { lang } : {} }, codeEl), codeEl);
}

/** Renders Markdown `text` into a new element (class md). */
export function markdown(text) {
  const root = h("div", { class: "md" });
  const html = marked.parse(String(text ?? ""), { async: false });
  root.appendChild(purify.sanitize(html, SANITIZE));
  for (const pre of root.querySelectorAll("pre")) {
    const codeEl = pre.querySelector("code") || pre;
    const lang = /(?:^|\s)language-([\w+#.-]+)/.exec(codeEl.className || "");
    pre.className = "md-code";
    if (lang) pre.dataset.lang = lang[1];
    codeEl.removeAttribute("class");
    codeEl.textContent = codeEl.textContent.replace(/\n$/, "");
    const mark = document.createComment("");
    pre.before(mark);
    mark.replaceWith(cut(pre, codeEl));
  }
  for (const li of root.querySelectorAll("li")) if (li.querySelector(":scope > .check, :scope > p > .check")) li.classList.add("task-item");
  return root;
}
