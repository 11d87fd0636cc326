// Formatting for humans: relative times, sizes, durations, counts and run status badges.

import { h } from "./dom.js";

const rtf = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const UNITS = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

/** "3 minutes ago", "just now". */
export function relative(iso, now = Date.now()) {
  if (!iso) return "—";
  const secs = (new Date(iso).getTime() - now) / 1000;
  const abs = Math.abs(secs);
  if (abs < 45) return "just now";
  for (const [unit, size] of UNITS) {
    if (abs >= size) return rtf.format(Math.round(secs / size), unit);
  }
  return rtf.format(Math.round(secs / 60), "minute");
}

/** A <time> showing a relative time, the exact time on hover. */
export function timeAgo(iso) {
  if (!iso) return h("span", { class: "muted", text: "—" });
  return h("time", { datetime: iso, title: absolute(iso), dataset: { relative: "" }, text: relative(iso) });
}

export function absolute(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** Every minute, refresh the relative times on the page. */
export function keepTimesFresh() {
  setInterval(() => {
    document.querySelectorAll("time[data-relative]").forEach((t) => {
      t.textContent = relative(t.getAttribute("datetime"));
    });
  }, 30_000);
}

export function bytes(n) {
  if (n === null || n === undefined) return "—";
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function duration(fromIso, toIso) {
  if (!fromIso) return "—";
  const ms = (toIso ? new Date(toIso) : new Date()) - new Date(fromIso);
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const hrs = Math.floor(m / 60);
  return `${hrs}h ${m % 60}m`;
}

export const count = (n) => new Intl.NumberFormat("en").format(n);

const STATUS_LABELS = {
  not_started: "Not started",
  queued: "Queued",
  in_progress: "Running",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** A coloured badge for a run status; "No runs" when there is no run. */
export function statusBadge(status) {
  if (!status) return h("span", { class: "badge badge-none", text: "No runs" });
  const known = Object.hasOwn(STATUS_LABELS, status);
  return h(
    "span",
    { class: `badge badge-${known ? status : "unknown"}`, dataset: { status } },
    h("span", { class: "badge-dot", "aria-hidden": "true" }),
    known ? STATUS_LABELS[status] : status,
  );
}

export const ORIGINS = [
  ["user_created", "User created"],
  ["error_tracking", "Error tracking"],
  ["eval_clusters", "Eval clusters"],
  ["slack", "Slack"],
  ["support_queue", "Support queue"],
  ["session_summaries", "Session summaries"],
];

export function originLabel(value) {
  const found = ORIGINS.find(([v]) => v === value);
  return found ? found[1] : value;
}

export function userName(u) {
  if (!u) return "—";
  const name = `${u.first_name || ""} ${u.last_name || ""}`.trim();
  return name || u.email;
}
