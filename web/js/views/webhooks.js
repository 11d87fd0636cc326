// A project's webhooks: add one (URL, events, optional secret; the secret is shown once,
// with a copy button), the list with each webhook's events, and delete. A webhook's
// deliveries are on its own page (webhook.js).

import { get, post, del } from "../api.js";
import { h, mount, empty, notice, field, showError } from "../dom.js";
import { confirmDialog, secretBox } from "../dialog.js";
import { timeAgo } from "../format.js";

/** The events a webhook can follow, in the API's words, with what they mean. */
export const EVENTS = [
  ["task.created", "A task is created"],
  ["run.created", "A run is created"],
  ["run.status_changed", "A run changes status"],
  ["run.completed", "A run finishes (completed, failed or cancelled)"],
  ["artifact.uploaded", "An artifact is uploaded"],
];

export const hooksPath = (pid) => `/projects/${encodeURIComponent(pid)}/webhooks/`;
export const hooksHref = (pid) => `/projects/${encodeURIComponent(pid)}/webhooks`;

function createForm(pid, onCreated) {
  const message = h("div", { class: "notice notice-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "button primary", text: "Add webhook" });
  const form = h(
    "form",
    { class: "form", "aria-label": "New webhook" },
    field("Payload URL", h("input", { name: "url", type: "url", required: true, maxlength: 2000, placeholder: "https://ci.example.com/hooks/burrow", autocomplete: "off" }), "Burrow POSTs each event here as JSON, signed with the secret."),
    h(
      "fieldset",
      { class: "field", dataset: { name: "events" } },
      h("legend", { text: "Events" }),
      h(
        "div",
        { class: "checks" },
        EVENTS.map(([value, hint]) =>
          h("label", { class: "check" }, h("input", { type: "checkbox", name: "event", value, checked: true }), h("span", {}, h("span", { class: "check-label mono", text: value }), h("span", { class: "check-hint muted", text: hint }))),
        ),
      ),
      h("p", { class: "field-error", role: "alert" }),
    ),
    field("Secret (optional)", h("input", { name: "secret", type: "text", maxlength: 200, autocomplete: "off", spellcheck: "false" }), "Leave it empty and Burrow makes one (whsec_…)."),
    message,
    h("div", { class: "form-actions start" }, submit),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const events = [...form.querySelectorAll('input[name="event"]:checked')].map((i) => i.value);
    const body = { url: form.elements.url.value.trim(), events };
    const secret = form.elements.secret.value;
    if (secret) body.secret = secret;
    submit.disabled = true;
    message.hidden = true;
    try {
      const hook = await post(hooksPath(pid), body);
      form.reset();
      form.querySelectorAll(".field-error").forEach((p) => (p.textContent = ""));
      form.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
      onCreated(hook);
    } catch (err) {
      showError(form, err, message);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function hookRow(pid, w, onDelete) {
  const remove = h("button", { type: "button", class: "button small danger-outline", text: "Delete", "aria-label": `Delete webhook ${w.url}` });
  remove.addEventListener("click", () => onDelete(w, remove));
  const href = `${hooksHref(pid)}/${encodeURIComponent(w.id)}`;
  return h(
    "tr",
    { dataset: { hookId: w.id } },
    h("td", { class: "cell-url" }, h("a", { href, class: "mono hook-url", text: w.url })),
    h("td", { dataset: { label: "Events" } }, w.events.map((ev) => h("span", { class: "chip", text: ev }))),
    h("td", { dataset: { label: "Created" } }, timeAgo(w.created_at)),
    h("td", { class: "cell-actions" }, h("a", { class: "button small", href, text: "Deliveries", "aria-label": `Deliveries of ${w.url}` }), remove),
  );
}

export async function webhooksView({ main, params, ctx }) {
  const { pid } = params;
  const project = ctx.projects.find((p) => String(p.id) === String(pid));
  document.title = `Webhooks · ${project ? project.name : "Burrow"}`;
  const reveal = h("div", { class: "reveal-slot" });
  const listCard = h("section", { class: "card flush", "aria-label": "Webhooks", "aria-busy": "true" }, h("div", { class: "card-head" }, h("h2", { text: "Webhooks" })), h("p", { class: "panel-empty muted", text: "Loading…" }));

  async function loadList() {
    let list;
    try {
      list = (await get(hooksPath(pid))).results;
    } catch (err) {
      mount(listCard, notice("error", err.message));
      return;
    }
    listCard.removeAttribute("aria-busy");
    const head = h("div", { class: "card-head" }, h("h2", { text: "Webhooks" }), h("span", { class: "muted", text: `${list.length} of 20` }));
    if (!list.length) {
      mount(listCard, head, empty("No webhooks yet", "Add one with the form to have Burrow POST this project's task, run and artifact events to your service."));
      return;
    }
    mount(
      listCard,
      head,
      h(
        "table",
        { class: "table hooks-table" },
        h("thead", {}, h("tr", {}, ["URL", "Events", "Created", ""].map((c) => h("th", { scope: "col", text: c })))),
        h("tbody", {}, list.map((w) => hookRow(pid, w, remove))),
      ),
    );
  }

  async function remove(w, button) {
    const ok = await confirmDialog("Delete this webhook?", `Burrow stops sending events to ${w.url} and gives up its pending deliveries. Its delivery log stays readable.`, "Delete webhook");
    if (!ok) return;
    button.disabled = true;
    try {
      await del(`${hooksPath(pid)}${encodeURIComponent(w.id)}/`);
      mount(reveal);
      await loadList();
    } catch (err) {
      button.disabled = false;
      mount(reveal, notice("error", err.message));
    }
  }

  function created(hook) {
    mount(
      reveal,
      notice(
        "success",
        h("p", {}, h("strong", { text: "Webhook added. " }), "Copy its secret now: this is the only time it is shown. Check each delivery's X-Burrow-Signature (HMAC-SHA256 of the body) with it."),
        secretBox("Webhook secret", hook.secret),
      ),
    );
    reveal.querySelector("input").focus();
    loadList();
  }

  mount(
    main,
    h(
      "div",
      { class: "page-head" },
      h("div", {}, h("h1", { text: "Webhooks" }), h("p", { class: "muted", text: `Events of ${project ? project.name : "this project"}, sent as signed JSON POSTs and retried until your service answers 2xx.` })),
    ),
    reveal,
    h("div", { class: "two-col" }, h("section", { class: "card", "aria-label": "New webhook" }, h("h2", { class: "section-title", text: "New webhook" }), createForm(pid, created)), listCard),
  );
  await loadList();
}
