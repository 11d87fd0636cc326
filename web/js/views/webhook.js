// One webhook and its delivery log: the URL and events, Delete, and the deliveries newest
// first, each with its status and every attempt (time, status code, error, duration), the
// payload on demand, paged. A deleted webhook's deliveries stay readable.

import { get, del, query } from "../api.js";
import { h, mount, empty, notice } from "../dom.js";
import { confirmDialog } from "../dialog.js";
import { absolute, count, timeAgo } from "../format.js";
import { navigate } from "../router.js";
import { hooksPath, hooksHref } from "./webhooks.js";

const PAGE = 20;
const DELIVERY = { pending: "Pending", delivered: "Delivered", failed: "Failed" };

function deliveryBadge(status) {
  return h("span", { class: `badge badge-delivery-${DELIVERY[status] ? status : "unknown"}`, dataset: { status } }, h("span", { class: "badge-dot", "aria-hidden": "true" }), DELIVERY[status] || status);
}

function attemptsTable(attempts) {
  if (!attempts.length) return h("p", { class: "muted", text: "Not tried yet." });
  return h(
    "table",
    { class: "table attempts" },
    h("thead", {}, h("tr", {}, ["#", "At", "Status", "Error", "Took"].map((c) => h("th", { scope: "col", text: c })))),
    h(
      "tbody",
      {},
      attempts.map((a, i) =>
        h(
          "tr",
          { dataset: { ok: String(!a.error && a.status_code >= 200 && a.status_code < 300) } },
          h("td", { text: String(i + 1) }),
          h("td", { dataset: { label: "At" } }, h("time", { datetime: a.at, title: absolute(a.at), text: absolute(a.at) })),
          h("td", { dataset: { label: "Status" }, class: "attempt-answer mono", text: a.status_code ? `HTTP ${a.status_code}` : "—" }),
          h("td", { dataset: { label: "Error" }, class: "attempt-error", text: a.error || "—" }),
          h("td", { dataset: { label: "Took" }, text: a.duration_ms === undefined ? "—" : `${count(a.duration_ms)} ms` }),
        ),
      ),
    ),
  );
}

function deliveryItem(d) {
  const attempts = Array.isArray(d.attempts) ? d.attempts : [];
  const payload = h("pre", { class: "json" });
  const details = h(
    "details",
    { class: "delivery", dataset: { status: d.status } },
    h(
      "summary",
      {},
      h("span", { class: "mono delivery-event", text: d.event }),
      deliveryBadge(d.status),
      h("span", { class: "muted", text: `${attempts.length} ${attempts.length === 1 ? "attempt" : "attempts"}` }),
      h("span", { class: "delivery-time" }, timeAgo(d.created_at)),
    ),
    h(
      "div",
      { class: "delivery-body" },
      h("p", { class: "muted small mono", text: `Delivery ${d.id}` }),
      d.next_attempt_at ? h("p", { class: "small" }, "Next attempt ", timeAgo(d.next_attempt_at)) : null,
      attemptsTable(attempts),
      h("details", { class: "delivery-payload" }, h("summary", { text: "Payload" }), payload),
    ),
  );
  // The payload can be large: drawn only when opened.
  details.querySelector(".delivery-payload").addEventListener("toggle", () => {
    if (!payload.textContent) payload.textContent = JSON.stringify(d.payload, null, 2);
  });
  return details;
}

export async function webhookView({ main, params }) {
  const { pid, wid } = params;
  const api = `${hooksPath(pid)}${encodeURIComponent(wid)}/`;
  // From the list (at most 20), not `webhooks/:id/`: a deleted webhook is not an error here.
  let hook;
  try {
    hook = (await get(hooksPath(pid))).results.find((w) => String(w.id) === String(wid)) || null;
  } catch (err) {
    mount(main, notice("error", err.message));
    return;
  }
  document.title = `Webhook ${wid} · Burrow`;
  const errorBox = h("div", { class: "run-error" });
  const list = h("div", { class: "deliveries", "aria-live": "polite" });
  const counter = h("span", { class: "muted" });
  const pager = h("div", { class: "pager", hidden: true });
  const refresh = h("button", { type: "button", class: "button small", text: "Refresh" });
  let offset = 0;

  async function load() {
    refresh.disabled = true;
    let page;
    try {
      page = await get(`${api}deliveries/${query({ limit: PAGE, offset })}`);
    } catch (err) {
      mount(list, notice("error", err.message));
      return;
    } finally {
      refresh.disabled = false;
    }
    counter.textContent = `${count(page.count)} ${page.count === 1 ? "delivery" : "deliveries"}`;
    if (!page.results.length) {
      mount(list, empty("No deliveries yet", hook ? `Each ${hook.events.join(", ")} event in this project is sent here and listed with its attempts.` : "This webhook sent nothing before it was deleted."));
    } else {
      mount(list, page.results.map(deliveryItem));
    }
    const prev = h("button", { type: "button", class: "button small", text: "Newer", disabled: offset === 0 });
    const next = h("button", { type: "button", class: "button small", text: "Older", disabled: offset + PAGE >= page.count });
    prev.addEventListener("click", () => {
      offset = Math.max(0, offset - PAGE);
      load();
    });
    next.addEventListener("click", () => {
      offset += PAGE;
      load();
    });
    pager.hidden = page.count <= PAGE;
    mount(pager, h("span", { class: "muted", text: `${count(offset + 1)}–${count(Math.min(offset + PAGE, page.count))} of ${count(page.count)}` }), h("div", { class: "pager-buttons" }, prev, next));
  }
  refresh.addEventListener("click", load);

  const remove = h("button", { type: "button", class: "button small danger-outline", text: "Delete webhook" });
  remove.addEventListener("click", async () => {
    const ok = await confirmDialog("Delete this webhook?", `Burrow stops sending events to ${hook.url} and gives up its pending deliveries. Its delivery log stays readable.`, "Delete webhook");
    if (!ok) return;
    remove.disabled = true;
    try {
      await del(api);
      navigate(hooksHref(pid));
    } catch (err) {
      remove.disabled = false;
      mount(errorBox, notice("error", err.message));
    }
  });

  mount(
    main,
    h(
      "nav",
      { class: "crumbs", "aria-label": "Breadcrumb" },
      h("a", { href: hooksHref(pid), text: "Webhooks" }),
      h("span", { "aria-hidden": "true", text: "/" }),
      h("span", { text: `Webhook ${wid}` }),
    ),
    h(
      "div",
      { class: "page-head" },
      h("div", { class: "head-text" }, h("h1", { class: "hook-heading mono", text: hook ? hook.url : `Webhook ${wid}` })),
      hook ? h("div", { class: "actions" }, remove) : null,
    ),
    errorBox,
    hook
      ? h("div", { class: "card" }, h("dl", { class: "meta" }, h("div", { class: "meta-item" }, h("dt", { text: "Events" }), h("dd", {}, hook.events.map((ev) => h("span", { class: "chip", text: ev })))), h("div", { class: "meta-item" }, h("dt", { text: "Created" }), h("dd", {}, timeAgo(hook.created_at)))))
      : notice("info", "This webhook was deleted: it sends nothing more, and its deliveries stay here to read."),
    h("section", { class: "card flush", "aria-label": "Deliveries" }, h("div", { class: "card-head" }, h("h2", { text: "Deliveries" }), counter, refresh), list, pager),
  );
  await load();
}
