// The page: reads the view from the URL, asks the API the questions it needs (in parallel, at one log
// position), and shows the answers. Moving the slider aborts questions gone stale; the back button steps
// through dates; events appended while the page is open arrive through /live.

import { getAll, getJSON, isAbort } from "./api.js";
import { Controls } from "./controls.js";
import { formatDate, lastDay } from "./dates.js";
import { Details } from "./details.js";
import { $ } from "./dom.js";
import { follow } from "./live.js";
import { Matrix, renderLegend } from "./matrix.js";
import { renderPanels } from "./panels.js";
import "./first.js";
import { axisOf, renderTimeline, statusOf, visible, watch } from "./timeline.js";
import { questions, readView, viewURL } from "./view.js";

const page = {
  view: readView(location.search),
  shown: null, // what is on screen: { key, position, head, names, items, timeline }
  loading: null, // { key, controller } of the questions in flight
  head: 0, // the newest log position known to the page
  fresh: new Set(), // events that arrived through /live
  refresh: null,
  source: null,
  everything: new Map(), // the answers of "every event on the axis" by URL: a date change does not change them
  panels: "",
};

const details = new Details($("#detail"), () => ({
  view: page.view,
  position: page.shown?.position ?? null,
  names: page.shown?.names ?? new Map(),
  items: page.shown?.items ?? new Map(),
}));
const matrix = new Matrix($("#matrix"), (cell, opener) => details.showCell(cell, opener));
const controls = new Controls(navigate);
const openEvent = (id, opener) => details.showEvent(id, opener);

function navigate(patch, how) {
  page.view = { ...page.view, ...patch };
  const url = viewURL(page.view);
  const here = location.pathname + location.search;
  if (how === "push" && url !== here) history.pushState(null, "", url);
  if (how === "replace") history.replaceState(null, "", url);
  load();
}

async function load({ again = false } = {}) {
  const view = page.view;
  const key = viewURL(view);
  if (!again && (page.loading?.key === key || (!page.loading && page.shown?.key === key))) return;
  page.loading?.controller.abort();
  const controller = new AbortController();
  page.loading = { key, controller };
  document.documentElement.dataset.loading = "true";
  performance.mark("view-asked");
  try {
    const answers = await ask(view, controller.signal);
    const first = !page.shown;
    const below = render(view, key, answers);
    // how long a view takes (bench/page.py reads these): in the DOM, and on screen after the next paint.
    // On the first view the matrix is painted before the timeline and the cards below it are made.
    performance.measure("view", "view-asked");
    if (first) {
      await painted();
      performance.measure("view-painted", "view-asked");
      if (!controller.signal.aborted) below();
    } else {
      below();
      painted().then(() => performance.measure("view-painted", "view-asked"));
    }
    if (!page.source) startLive();
  } catch (error) {
    if (!isAbort(error)) showError(error);
  } finally {
    if (page.loading?.controller === controller) {
      page.loading = null;
      document.documentElement.dataset.loading = "false";
    }
  }
}

// Every answer of one view from one log position: asked in parallel, asked again at the newest position
// they reflect if an append landed in between.
async function ask(view, signal) {
  let at = view.at;
  for (let attempt = 0; ; attempt += 1) {
    const asks = Object.entries(questions(view, at));
    const answers = await Promise.all(
      asks.map(([name, url]) => {
        if (name === "state") return getJSON(url, signal);
        return name === "all" ? everything(url) : getAll(url, "items", signal);
      }),
    );
    const positions = answers.map((answer) => answer.position);
    if (new Set(positions).size === 1 || attempt === 2) return Object.fromEntries(asks.map(([name], i) => [name, answers[i]]));
    at = Math.max(...positions);
  }
}

// Kept until an event is appended (a few of them: the filters change the URL).
function everything(url) {
  if (!page.everything.has(url)) {
    const answer = getAll(url, "items");
    answer.catch(() => page.everything.delete(url));
    page.everything.set(url, answer);
    if (page.everything.size > 4) page.everything.delete(page.everything.keys().next().value);
  }
  return page.everything.get(url);
}

// Shows a view: the controls, the matrix and the citation at once; returns what draws the rest (the
// timeline, the cards).
function render(view, key, { state: answer, all, counting, occurred }) {
  const { state, position, head } = answer;
  const names = new Map(state.parties.map((p) => [p.id, p.name]));
  const items = visible(all.items, view);
  const axis = axisOf(items);
  const ids = (list) => new Set(list.items.map((item) => item.event.id));
  const sets = { counting: ids(counting), occurred: occurred ? ids(occurred) : null };
  const status = (item) => statusOf(item, sets);
  page.head = Math.max(page.head, head);
  const timeline = {
    items,
    status,
    axis,
    marker: view.as_of ? lastDay(view.as_of) : null,
    group: view.group,
    names,
    fresh: page.fresh,
    onOpen: (item, opener) => openEvent(item.event.id, opener),
  };
  page.shown = { key, position, head, names, items: new Map(all.items.map((i) => [i.event.id, i])), timeline };

  controls.vocabulary(state.parties, state.issues);
  controls.show(view, axis);
  const changed = matrix.render(state, view);
  citation(view, position);
  const asOf = view.as_of ? `as of ${formatDate(view.as_of)}` : "as the log stands";
  const when = view.as_of ? `As of ${formatDate(view.as_of)}` : "Latest";
  const known = view.known_at ? `, as known on ${formatDate(view.known_at)}` : "";
  const marked = changed ? ` · ${changed} cell${changed > 1 ? "s" : ""} changed` : "";
  $("#status").textContent = `${when}${known} · log position ${position}${marked}`;
  $("#status").classList.remove("error");
  $("#matrix-caption").textContent = `Every party's stance on every issue, ${asOf}${known}`;
  document.title = `${when}${known} — Negotiation Timeline`;
  document.documentElement.dataset.position = String(position);

  return () => {
    renderTimeline($("#timeline"), timeline);
    const panels = JSON.stringify([state.parties, state.proposals, state.agreements, state.meetings]);
    if (panels !== page.panels) {
      renderPanels(state, { proposals: $("#proposals"), agreements: $("#agreements"), meetings: $("#meetings") }, openEvent);
      page.panels = panels;
    }
    timelineNote(items.map(status), view);
    document.documentElement.dataset.view = key; // for tests from outside: the view this screen shows
    document.documentElement.dataset.ready = "true";
  };
}

// Resolves after the browser has painted what is in the DOM now.
function painted() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));
}

function timelineNote(statuses, view) {
  const count = (st) => statuses.filter((s) => s === st).length;
  const parts = [`${count("counts")} events count`];
  if (view.as_of) parts.push(`${count("after")} lie after ${formatDate(view.as_of)} (faded, right of the line)`);
  if (count("unknown")) parts.push(`${count("unknown")} had happened but were not yet reported by ${formatDate(view.known_at)}, and are left out`);
  if (count("retracted")) parts.push(`${count("retracted")} retracted (struck through)`);
  if (!view.vocabulary) parts.push("the definitions of parties and issues are left out (see Filters)");
  $("#timeline-note").textContent = `${parts.join("; ")}. A dot is a day, a bar a month or longer.`;
}

function citation(view, position) {
  const pinned = view.at !== null;
  const later = page.head - position;
  $("#position").textContent =
    `Log position ${position}` + (pinned && later > 0 ? ` — ${later} event${later > 1 ? "s" : ""} appended since` : "");
  const link = $("#cite-link");
  link.href = viewURL({ ...view, at: position });
  link.textContent = `Link to this view (at=${position})`;
  $("#follow").hidden = !pinned;
}

function showError(error) {
  const status = $("#status");
  status.textContent = `Could not load this view: ${error.message}`;
  status.classList.add("error");
}

function startLive() {
  page.source = follow(page.head, (appended) => {
    page.head = Math.max(page.head, appended.position);
    page.fresh.add(appended.event.id);
    page.everything.clear();
    if (page.view.at !== null) {
      citation(page.view, page.shown.position); // a cited view stays as cited; it says the log moved on
      return;
    }
    clearTimeout(page.refresh);
    page.refresh = setTimeout(() => load({ again: true }), 60);
  });
}

window.addEventListener("popstate", () => {
  page.view = readView(location.search);
  load();
});
watch($("#timeline"), () => page.shown && renderTimeline($("#timeline"), page.shown.timeline));

renderLegend($("#legend"));
// one spelling of each view: the one the page links to
if (viewURL(page.view) !== location.pathname + location.search) history.replaceState(null, "", viewURL(page.view));
load();
