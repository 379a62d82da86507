// The timeline: events on a date axis, a row per party (or per stream). A day-precision event is a point;
// a month, a year or an interval is a span over its days (clipped where it runs past the axis). Whether an
// event counts on the chosen date is the API's answer (`/timeline` with `to`, `known_at`, `at`), never
// worked out here: events after the date are set apart beyond the marker, events that had happened but
// were not yet reported are left out, retracted ones are struck through when asked for.

import { formatDate, monthsBetween, toDay } from "./dates.js";
import { h } from "./dom.js";

const DEFINITIONS = new Set(["PartyDefined", "IssueDefined"]);
const LANE_PX = 26;
const LABEL_PX = 160; // room each item keeps for its title, so that titles in a lane never overlap
const GAP_PX = 6;
const MIN_DAY_PX = 5;
const ROW_LABEL_PX = 120;
const LONG_DAYS = 62; // a span longer than this (a year, an open interval) does not stretch the axis

export const visible = (items, view) => items.filter((i) => view.vocabulary || !DEFINITIONS.has(i.event.type));

// The days the axis covers: what the events occupy, a few days either side.
export function axisOf(items) {
  let first = Infinity;
  let last = -Infinity;
  for (const { dates } of items) {
    const start = toDay(dates.occurred.start);
    const end = dates.occurred.end ? toDay(dates.occurred.end) : start;
    first = Math.min(first, start);
    last = Math.max(last, end - start > LONG_DAYS ? start : end);
  }
  if (!Number.isFinite(first)) {
    const today = toDay(new Date().toISOString());
    return { first: today - 30, last: today };
  }
  return { first: first - 3, last: last + 3 };
}

// counts | after | unknown | retracted, from the API's answers for the chosen point on the axes.
export function statusOf(item, sets) {
  const id = item.event.id;
  if (item.retracted) return "retracted";
  if (sets.counting.has(id)) return "counts";
  if (sets.occurred?.has(id)) return "unknown";
  return "after";
}

function rowsOf(items, group, names) {
  const rows = new Map();
  const add = (key, label, item) => {
    if (!rows.has(key)) rows.set(key, { key, label, items: [] });
    rows.get(key).items.push(item);
  };
  for (const item of items) {
    if (group === "stream") add(item.event.stream, item.event.stream, item);
    else if (!item.event.parties.length) add("~none", "no party named", item);
    else for (const party of item.event.parties) add(party, names.get(party) ?? party, item);
  }
  const order = group === "party" ? [...names.keys(), "~none"] : [...rows.keys()].sort();
  return order.filter((key) => rows.has(key)).map((key) => rows.get(key));
}

// Keeps the width and the scroll offset of the timeline's box at hand, so that drawing it reads no layout;
// calls `redraw` when the width changes.
export function watch(root, redraw) {
  root.seenWidth = root.clientWidth;
  root.seenScroll = 0;
  root.addEventListener("scroll", () => (root.seenScroll = root.scrollLeft), { passive: true });
  new ResizeObserver(([entry]) => {
    if (Math.abs(entry.contentRect.width - root.seenWidth) < 1) return;
    root.seenWidth = entry.contentRect.width;
    redraw();
  }).observe(root);
}

// Draws the timeline, or, when only the chosen point on the axes moved (the same events, rows and lanes),
// restyles the items and moves the marker: a slider step touches no more of the page than it must.
export function renderTimeline(root, view) {
  const { items, status, axis, group } = view;
  const statuses = new Map(items.map((item) => [item.event.id, status(item)]));
  const unknown = [...statuses].filter(([, st]) => st === "unknown").map(([id]) => id);
  const shape = items.map((i) => `${i.event.id}:${i.position}:${i.retracted}:${i.corrected}`);
  const key = JSON.stringify([shape, unknown, group, axis, Math.round(root.seenWidth), [...view.names]]);
  if (key !== root.drawnKey) draw(root, view, statuses);
  root.drawnKey = key;
  const byId = new Map(items.map((item) => [item.event.id, item]));
  for (const button of root.querySelectorAll(".tl-item")) {
    button.item = byId.get(button.dataset.eventId);
    mark(button, statuses.get(button.dataset.eventId), view.fresh);
  }
  placeMarker(root, view.marker === null ? null : ROW_LABEL_PX + root.x(view.marker + 1));
}

function draw(root, { items, axis, group, names, onOpen }, statuses) {
  const focusedId = root.contains(document.activeElement) ? document.activeElement.dataset.eventId : null;
  const days = axis.last - axis.first + 1;
  const dayPx = Math.max(MIN_DAY_PX, (root.seenWidth - ROW_LABEL_PX - LABEL_PX) / days); // the last titles fit too
  const x = (day) => (day - axis.first) * dayPx;
  root.x = x;
  const width = Math.ceil(days * dayPx) + LABEL_PX;
  const ticks = monthsBetween(axis.first, axis.last)
    .filter(({ day }) => day >= axis.first)
    .map(({ day, label }) => place(h("span", { class: "tl-tick" }, label), x(day)));
  const rows = rowsOf(items, group, names).map((row) => {
    const lanes = [];
    const entries = row.items.map((item) => {
      const { element, left, footprint } = itemElement(item, x, axis, dayPx);
      element.addEventListener("click", () => onOpen(element.item, element));
      if (statuses.get(item.event.id) === "unknown") return h("li", { hidden: true }, element); // not yet public
      let lane = lanes.findIndex((end) => end + GAP_PX <= left);
      if (lane < 0) lane = lanes.push(0) - 1;
      lanes[lane] = left + footprint;
      element.style.top = `${lane * LANE_PX}px`;
      return h("li", {}, element);
    });
    const track = h("ol", { class: "tl-track" }, entries);
    track.style.height = `${Math.max(lanes.length, 1) * LANE_PX}px`;
    return h("section", { class: "tl-row", "aria-label": row.label }, h("h3", { class: "tl-row-label" }, row.label), track);
  });
  const canvas = h("div", { class: "tl-canvas" }, h("div", { class: "tl-axis", "aria-hidden": "true" }, ticks), rows);
  canvas.style.width = `${width + ROW_LABEL_PX}px`;
  canvas.style.setProperty("--row-label", `${ROW_LABEL_PX}px`);
  if (!rows.length) canvas.append(h("p", { class: "tl-empty" }, "No event matches."));
  root.replaceChildren(canvas);
  root.marker = null;
  if (focusedId) root.querySelector(`.tl-item[data-event-id="${CSS.escape(focusedId)}"]`)?.focus();
}

const NOTES = { after: "after the chosen date", retracted: "retracted", unknown: "not yet reported" };

// What an item is at the chosen point on the axes: its classes, data-counts and spoken label.
function mark(button, st, fresh) {
  if (button.dataset.status === st && button.classList.contains("fresh") === fresh.has(button.dataset.eventId)) return;
  const { item } = button;
  button.classList.remove(`status-${button.dataset.status}`);
  button.classList.add(`status-${st}`);
  button.classList.toggle("fresh", fresh.has(item.event.id));
  button.dataset.status = st;
  button.dataset.counts = String(st === "counts");
  const label = [formatDate(item.dates.occurred.text), item.event.title, NOTES[st], item.corrected && "corrected"];
  button.setAttribute("aria-label", label.filter(Boolean).join(": "));
}

function placeMarker(root, left) {
  if (left === null) {
    root.marker?.forEach((element) => element.remove());
    root.marker = null;
    return;
  }
  if (!root.marker) {
    root.marker = [
      h("div", { class: "tl-after", "aria-hidden": "true" }, h("span", {}, "after the date")),
      h("div", { class: "tl-marker", "aria-hidden": "true" }),
    ];
    root.firstElementChild.append(...root.marker);
  }
  for (const element of root.marker) element.style.left = `${left}px`;
  keepInView(root, left);
}

function itemElement(item, x, axis, dayPx) {
  const { occurred } = item.dates;
  const start = toDay(occurred.start);
  const end = occurred.end ? toDay(occurred.end) : start;
  const point = start === end;
  const from = Math.max(start, axis.first);
  const to = Math.min(end, axis.last);
  const left = point ? x(start) + dayPx / 2 : x(from);
  const span = point ? 0 : Math.max(x(to + 1) - x(from), 2);
  const classes = [
    "tl-item",
    point ? "tl-point" : "tl-span",
    `prec-${occurred.precision}`,
    start < axis.first && "clipped-start",
    end > axis.last && "clipped-end",
  ];
  const bar = h("span", { class: point ? "tl-dot" : "tl-bar", "aria-hidden": "true" });
  if (!point) bar.style.width = `${span}px`;
  const element = h(
    "button",
    {
      type: "button",
      class: classes.filter(Boolean).join(" "),
      title: `${formatDate(occurred.text)} — ${item.event.title}`,
      dataset: { eventId: item.event.id },
    },
    bar,
    h("span", { class: "tl-label" }, item.corrected ? "✎ " : "", item.event.title),
  );
  element.item = item;
  const footprint = Math.max(span, LABEL_PX);
  element.style.left = `${left}px`;
  element.style.width = `${footprint}px`;
  return { element, left, footprint };
}

function place(element, left) {
  element.style.left = `calc(var(--row-label) + ${left}px)`;
  return element;
}

function keepInView(root, left) {
  if (left < root.seenScroll + ROW_LABEL_PX || left > root.seenScroll + root.seenWidth - 40) {
    root.scrollLeft = root.seenScroll = Math.max(0, left - root.seenWidth / 2);
  }
}
