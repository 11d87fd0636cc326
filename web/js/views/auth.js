// Signing in, and creating the first (administrator) account on a fresh server.

import { post } from "../api.js";
import { h, mount, field, showError } from "../dom.js";

function authPage(root, title, intro, form) {
  document.title = `${title} · Burrow`;
  mount(
    root,
    h(
      "main",
      { class: "auth-page" },
      h(
        "div",
        { class: "auth-card" },
        h("div", { class: "auth-brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }), "Burrow"),
        h("h1", { text: title }),
        h("p", { class: "muted", text: intro }),
        form,
      ),
    ),
  );
  const first = [...form.querySelectorAll("input")].find((i) => i.offsetParent !== null);
  if (first) first.focus();
}

function input(name, type, autocomplete, extra = {}) {
  return h("input", { name, type, autocomplete, required: true, ...extra });
}

/** Sends the form; on success reloads the page, now signed in. */
function submitter(form, button, path, body, failure) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const message = form.querySelector(".form-message");
    message.hidden = true;
    button.disabled = true;
    try {
      await post(path, body());
      location.assign(location.pathname + location.search);
    } catch (err) {
      button.disabled = false;
      failure(err, message);
    }
  });
}

/** The one-time token of the setup link (`/setup#token=…`), taken out of the address bar. */
function tokenFromLink() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  return token;
}

export function setupView(root, state = {}) {
  const button = h("button", { type: "submit", class: "button primary wide", text: "Create account and sign in" });
  const guarded = state.setup_token_required === true;
  // On a network address the server printed a one-time link; its token is the only way in.
  const token = guarded ? tokenFromLink() : "";
  const tokenField = guarded
    ? field(
        "Setup token",
        input("setup_token", "password", "off", { value: token, maxlength: 64 }),
        token ? "From the setup link." : "Open the setup link that `burrow serve` printed on its console, or paste its token (after #token=) here.",
      )
    : null;
  if (tokenField && token) tokenField.hidden = true;
  const form = h(
    "form",
    { class: "form", novalidate: false },
    tokenField,
    h("div", { class: "field-row" }, field("First name", h("input", { name: "first_name", autocomplete: "given-name" })), field("Last name", h("input", { name: "last_name", autocomplete: "family-name" }))),
    field("Email", input("email", "email", "email")),
    field("Password", input("password", "password", "new-password", { minlength: 8 }), "At least 8 characters."),
    h("div", { class: "notice notice-error form-message", role: "alert", hidden: true }),
    button,
  );
  const value = (n) => form.elements[n].value;
  submitter(
    form,
    button,
    "/auth/setup",
    () => ({
      email: value("email").trim(),
      password: value("password"),
      first_name: value("first_name").trim(),
      last_name: value("last_name").trim(),
      ...(guarded ? { setup_token: value("setup_token").trim() } : {}),
    }),
    (err, message) => {
      // A refused token: show its field, whatever the link said.
      if (tokenField && err.status === 403) tokenField.hidden = false;
      showError(form, err, message);
    },
  );
  authPage(root, "Welcome to Burrow", "This server has no accounts yet. Create the first one: it will be the administrator, who can add people and projects.", form);
}

export function loginView(root) {
  const button = h("button", { type: "submit", class: "button primary wide", text: "Sign in" });
  const form = h(
    "form",
    { class: "form" },
    field("Email", input("email", "email", "username")),
    field("Password", input("password", "password", "current-password")),
    h("div", { class: "notice notice-error form-message", role: "alert", hidden: true }),
    button,
  );
  let timer = null;
  submitter(
    form,
    button,
    "/auth/login",
    () => ({ email: form.elements.email.value.trim(), password: form.elements.password.value }),
    (err, message) => {
      if (err.status === 429) {
        let left = err.retryAfter || 1;
        const say = () => {
          message.textContent = `Too many failed sign-ins. Wait ${left} second${left === 1 ? "" : "s"} before trying again.`;
        };
        say();
        button.disabled = true;
        clearInterval(timer);
        timer = setInterval(() => {
          left -= 1;
          if (left <= 0) {
            clearInterval(timer);
            message.textContent = "You can try again now.";
            button.disabled = false;
          } else say();
        }, 1000);
      } else if (err.status === 401) {
        message.textContent = "That email and password do not match an account. Check them and try again.";
        form.elements.password.select();
      } else {
        message.textContent = err.message;
      }
      message.hidden = false;
    },
  );
  authPage(root, "Sign in", "Sign in to see your team's tasks and agent runs.", form);
}

