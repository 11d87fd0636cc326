// Personal API keys: create one with chosen scopes and projects (its value is shown once,
// with a copy button), list keys with their last use, revoke.

import { get, post, del } from "../api.js";
import { h, mount, empty, notice, field, showError } from "../dom.js";
import { confirmDialog, secretBox } from "../dialog.js";
import { timeAgo } from "../format.js";

const SCOPES = [
  ["task:read", "Read tasks and runs", "task:read"],
  ["task:write", "Create and change tasks and runs (includes read)", "task:write"],
  ["*", "Everything, including managing keys", "* (all)"],
];

function checkbox(name, value, label, hint, checked = false) {
  return h(
    "label",
    { class: "check" },
    h("input", { type: "checkbox", name, value, checked }),
    h("span", {}, h("span", { class: "check-label", text: label }), hint ? h("span", { class: "check-hint muted", text: hint }) : null),
  );
}

function createForm(ctx, onCreated) {
  const message = h("div", { class: "notice notice-error", role: "alert", hidden: true });
  const projectBoxes = h("div", { class: "checks indent", hidden: true }, ctx.projects.map((p) => checkbox("project", p.id, p.name, null)));
  const allProjects = h("input", { type: "radio", name: "reach", value: "all", checked: true });
  const someProjects = h("input", { type: "radio", name: "reach", value: "some" });
  const submit = h("button", { type: "submit", class: "button primary", text: "Create key" });
  const form = h(
    "form",
    { class: "form" },
    field("Label", h("input", { name: "label", maxlength: 40, required: true, placeholder: "e.g. CI agent", autocomplete: "off" }), "So you can tell your keys apart."),
    h(
      "fieldset",
      { class: "field", dataset: { name: "scopes" } },
      h("legend", { text: "Scopes" }),
      h("div", { class: "checks" }, SCOPES.map(([v, hint, label]) => checkbox("scope", v, label, hint, v === "task:write"))),
      h("p", { class: "field-error", role: "alert" }),
    ),
    h(
      "fieldset",
      { class: "field", dataset: { name: "scoped_teams" } },
      h("legend", { text: "Projects" }),
      h("div", { class: "checks" }, h("label", { class: "check" }, allProjects, h("span", { class: "check-label", text: "All my projects" })), h("label", { class: "check" }, someProjects, h("span", { class: "check-label", text: "Only these projects" }))),
      projectBoxes,
      h("p", { class: "field-error", role: "alert" }),
    ),
    message,
    h("div", { class: "form-actions start" }, submit),
  );
  form.addEventListener("change", () => (projectBoxes.hidden = !someProjects.checked));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const picked = (name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
    const body = {
      label: form.elements.label.value.trim(),
      scopes: picked("scope"),
      scoped_teams: someProjects.checked ? picked("project").map(Number) : null,
    };
    submit.disabled = true;
    try {
      const key = await post("/personal_api_keys/", body);
      form.reset();
      projectBoxes.hidden = true;
      message.hidden = true;
      onCreated(key);
    } catch (err) {
      showError(form, err, message);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function keyRow(ctx, k, onRevoke) {
  const names = k.scoped_teams ? k.scoped_teams.map((id) => (ctx.projects.find((p) => p.id === id) || { name: `#${id}` }).name).join(", ") : "All projects";
  const revoke = h("button", { type: "button", class: "button small danger-outline", text: "Revoke", "aria-label": `Revoke ${k.label}` });
  revoke.addEventListener("click", () => onRevoke(k, revoke));
  return h(
    "tr",
    { dataset: { keyId: k.id } },
    h("td", {}, h("div", { class: "key-label", text: k.label }), h("div", { class: "mono muted small", text: k.mask_value })),
    h("td", { dataset: { label: "Scopes" } }, k.scopes.map((s) => h("span", { class: "chip", text: s }))),
    h("td", { dataset: { label: "Projects" }, text: names }),
    h("td", { dataset: { label: "Created" } }, timeAgo(k.created_at)),
    h("td", { dataset: { label: "Last used" } }, k.last_used_at ? timeAgo(k.last_used_at) : h("span", { class: "muted", text: "Never" })),
    h("td", { class: "cell-actions" }, revoke),
  );
}

export async function keysView({ main, ctx }) {
  document.title = "API keys · Burrow";
  const reveal = h("div", { class: "reveal-slot" });
  const listCard = h("section", { class: "card flush", "aria-label": "Your keys" });

  async function loadList() {
    let keys;
    try {
      keys = await get("/personal_api_keys/");
    } catch (err) {
      mount(listCard, notice("error", err.message));
      return;
    }
    const head = h("div", { class: "card-head" }, h("h2", { text: "Your keys" }), h("span", { class: "muted", text: String(keys.length) }));
    if (!keys.length) {
      mount(listCard, head, empty("No keys yet", "Create a key above to let an agent or script use the API as you."));
      return;
    }
    mount(
      listCard,
      head,
      h(
        "table",
        { class: "table keys-table" },
        h("thead", {}, h("tr", {}, ["Key", "Scopes", "Projects", "Created", "Last used", ""].map((c) => h("th", { scope: "col", text: c })))),
        h("tbody", {}, keys.map((k) => keyRow(ctx, k, revoke))),
      ),
    );
  }

  async function revoke(k, button) {
    const ok = await confirmDialog(`Revoke “${k.label}”?`, "Anything using this key loses access immediately. This cannot be undone.", "Revoke key");
    if (!ok) return;
    button.disabled = true;
    try {
      await del(`/personal_api_keys/${encodeURIComponent(k.id)}/`);
      mount(reveal);
      await loadList();
    } catch (err) {
      button.disabled = false;
      mount(reveal, notice("error", err.message));
    }
  }

  function created(key) {
    mount(
      reveal,
      notice(
        "success",
        h("p", {}, h("strong", { text: `Key “${key.label}” created. ` }), "Copy it now: this is the only time it is shown. Burrow keeps only a hash."),
        secretBox("New API key", key.value),
      ),
    );
    reveal.querySelector("input").focus();
    loadList();
  }

  mount(
    main,
    h("div", { class: "page-head" }, h("div", {}, h("h1", { text: "API keys" }), h("p", { class: "muted", text: "Personal API keys let agents and scripts call Burrow's API as you: send them as Authorization: Bearer <key>." }))),
    reveal,
    h("div", { class: "two-col" }, h("section", { class: "card", "aria-label": "New key" }, h("h2", { class: "section-title", text: "New key" }), createForm(ctx, created)), listCard),
  );
  await loadList();
}
