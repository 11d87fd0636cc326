// Building the page without innerHTML: every string becomes a text node or an attribute
// value, so user and agent text can never become markup.

/**
 * Creates an element. `attrs`: `class`, `text`, `on<event>` handlers, `dataset`, booleans
 * (set when true), anything else as an attribute. Children: nodes, strings, arrays, null.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "value") el.value = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
/** A fresh id for label/input pairs. */
export function nextId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field around `input` (which receives the id); `hint` shows below. */
export function field(labelText, input, hint = null) {
  const id = input.id || nextId();
  input.id = id;
  const error = h("p", { class: "field-error", id: `${id}-error`, role: "alert" });
  input.setAttribute("aria-describedby", `${id}-error`);
  return h(
    "div",
    { class: "field", dataset: { name: input.name || "" } },
    h("label", { for: id, text: labelText }),
    input,
    hint ? h("p", { class: "hint", text: hint }) : null,
    error,
  );
}

/** Shows a server validation error next to the field it names, else in `fallback`. */
export function showError(form, err, fallback) {
  form.querySelectorAll(".field-error").forEach((p) => (p.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
  const attr = err.attr ? String(err.attr).split("__")[0] : null;
  const f = attr && form.querySelector(`.field[data-name="${CSS.escape(attr)}"]`);
  if (f) {
    f.querySelector(".field-error").textContent = err.message;
    const input = f.querySelector("input, select, textarea");
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  } else if (fallback) {
    fallback.textContent = err.message;
    fallback.hidden = false;
  }
}

/** A message box: kind is "error", "info" or "success". */
export function notice(kind, ...children) {
  return h("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, ...children);
}

/** An empty state: a title, what to do next, and optional actions. */
export function empty(title, text, ...actions) {
  return h(
    "div",
    { class: "empty" },
    h("p", { class: "empty-title", text: title }),
    h("p", { class: "empty-text", text }),
    actions.length ? h("div", { class: "empty-actions" }, ...actions) : null,
  );
}
