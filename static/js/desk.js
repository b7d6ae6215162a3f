// Keyboard shortcuts of the desk: an element with data-hotkey="<key>" answers that key (a link
// or button is clicked, a field is focused): "/" search, "r" reply box, "n" next ticket, "?" help.
// Checkboxes and buttons are not typing: j/k/x keep working after ticking a row.
const NOT_TYPING = new Set(["checkbox", "radio", "button", "submit", "reset"]);

function isTyping(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || ["TEXTAREA", "SELECT"].includes(target.tagName)) return true;
  return target.tagName === "INPUT" && !NOT_TYPING.has(target.type);
}

document.addEventListener("keydown", (event) => {
  const target = event.target;
  // Ctrl/Cmd+Enter in a box that names its send button (data-ctrl-enter) sends it.
  if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && target.dataset?.ctrlEnter) {
    const send = document.querySelector(target.dataset.ctrlEnter);
    if (send) {
      event.preventDefault();
      send.click();
    }
    return;
  }
  // Escape leaves a field (the search box, the reply box, a filter) so that shortcuts work again.
  if (event.key === "Escape" && isTyping(target)) {
    target.blur();
    return;
  }
  if (isTyping(target) || event.ctrlKey || event.metaKey || event.altKey) return;
  if (document.querySelector("dialog[open]")) return;
  if (queueKey(event)) return;
  const box = document.querySelector(`[data-hotkey="${CSS.escape(event.key)}"]`);
  if (box) {
    event.preventDefault();
    if (box.tagName === "A" || box.tagName === "BUTTON") box.click();
    else box.focus();
  }
});

// --- The queue: j/k move the selected row, x ticks it, Enter opens it (the row's link has the
// focus). The rows refresh every 30 s; the selection and the ticks survive the refresh.
const queueRows = () => [...document.querySelectorAll("[data-queue-rows] tbody tr[data-number]")];
let selectedNumber = null;

function selectRow(row) {
  for (const other of document.querySelectorAll("[data-queue-rows] tr.selected")) {
    other.classList.remove("selected");
  }
  if (!row) return;
  row.classList.add("selected");
  selectedNumber = row.dataset.number;
  row.querySelector("[data-row-link]")?.focus();
}

function queueKey(event) {
  const rows = queueRows();
  if (!rows.length || !["j", "k", "x"].includes(event.key)) return false;
  event.preventDefault();
  const current = rows.findIndex((row) => row.classList.contains("selected"));
  if (event.key === "x") {
    const box = rows[current]?.querySelector("input[name=numbers]");
    if (box) box.checked = !box.checked;
    return true;
  }
  const step = event.key === "j" ? 1 : -1;
  const next = current === -1 ? 0 : Math.min(Math.max(current + step, 0), rows.length - 1);
  selectRow(rows[next]);
  return true;
}

let queueStash = null;
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.target?.id !== "queue-rows") return;
  const ticked = queueRows()
    .filter((row) => row.querySelector("input[name=numbers]:checked"))
    .map((row) => row.dataset.number);
  const focused = document.activeElement?.closest?.("[data-queue-rows]") != null;
  queueStash = { ticked: new Set(ticked), focused };
});

document.addEventListener("htmx:afterSettle", () => {
  if (!queueStash) return;
  const { ticked, focused } = queueStash;
  queueStash = null;
  for (const row of queueRows()) {
    const box = row.querySelector("input[name=numbers]");
    if (box && ticked.has(row.dataset.number)) box.checked = true;
    if (row.dataset.number === selectedNumber) {
      row.classList.add("selected");
      if (focused) row.querySelector("[data-row-link]")?.focus();
    }
  }
});

// After a bulk change the ticks have done their job: the refreshed rows start unticked.
document.addEventListener("htmx:afterRequest", (event) => {
  if (event.detail.elt?.id !== "bulk-form" || !event.detail.successful) return;
  for (const box of document.querySelectorAll("input[name=numbers]:checked")) box.checked = false;
  const all = document.querySelector("[data-select-all]");
  if (all) all.checked = false;
});

document.addEventListener("change", (event) => {
  const target = event.target;
  if (target.matches?.("[data-select-all]")) {
    for (const box of document.querySelectorAll("[data-queue-rows] input[name=numbers]")) {
      box.checked = target.checked;
    }
  } else if (target.matches?.("select[data-autosubmit]")) {
    target.form.submit();
  }
});

// --- Dialogs (the shortcut help): a button with data-dialog="<id>" opens it.
document.addEventListener("click", (event) => {
  const opener = event.target.closest?.("[data-dialog]");
  if (!opener) return;
  const dialog = document.getElementById(opener.dataset.dialog);
  if (dialog && !dialog.open) dialog.showModal();
});

// --- The reply box: a canned reply replaces the textarea (htmx); put the cursor at its end and
// set the picker back so that the same reply can be picked again.
document.addEventListener("htmx:afterSwap", (event) => {
  const box = document.getElementById("reply-body");
  if (!box || event.detail.elt?.id !== "reply-body") return;
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
  const picker = document.querySelector("[data-canned-picker]");
  if (picker) picker.value = "";
});

// --- SLA countdowns: every badge with data-due counts down each second and turns amber at
// data-warn and red at data-due. The format matches tickets_desk.countdown on the server.
function countdown(ms) {
  const seconds = ms / 1000;
  let minutes = seconds >= 0 ? Math.floor(seconds / 60) : -Math.ceil(-seconds / 60);
  const sign = minutes < 0 ? "-" : "";
  minutes = Math.abs(minutes);
  if (minutes < 60) return `${sign}${minutes}m`;
  const hours = Math.floor(minutes / 60);
  const pad = (n) => String(n).padStart(2, "0");
  if (hours < 24) return `${sign}${hours}h ${pad(minutes % 60)}m`;
  return `${sign}${Math.floor(hours / 24)}d ${pad(hours % 24)}h`;
}

function tickSlaBadges() {
  const now = Date.now();
  for (const badge of document.querySelectorAll(".sla[data-due]")) {
    const due = Date.parse(badge.dataset.due);
    const warn = Date.parse(badge.dataset.warn);
    if (Number.isNaN(due)) continue;
    const state = now >= due ? "breached" : now >= warn ? "breaching_soon" : "ok";
    badge.textContent = countdown(due - now);
    for (const name of ["ok", "breaching_soon", "breached"]) {
      badge.classList.toggle(`sla-${name}`, name === state);
    }
  }
}

setInterval(tickSlaBadges, 1000);
document.addEventListener("DOMContentLoaded", tickSlaBadges);
document.addEventListener("htmx:afterSettle", tickSlaBadges);

// --- Background polls are not activity: the timed (or on-load) requests of an element marked
// data-background-poll say so, and the server keeps counting the session's idle time. A header
// set here rather than hx-headers, which every link inside the element would inherit: paging
// the queue is a click. (csplatform/middleware.py)
document.addEventListener("htmx:configRequest", (event) => {
  const { elt, triggeringEvent, headers } = event.detail;
  if (!triggeringEvent && elt?.hasAttribute?.("data-background-poll")) {
    headers["X-Background-Poll"] = "1";
  }
});
