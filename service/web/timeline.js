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
const MIN_DAY_PX = 8;
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

export function renderTimeline(root, { items, status, axis, marker, group, names, fresh, onOpen }) {
  const focusedId = root.contains(document.activeElement) ? document.activeElement.dataset.eventId : null;
  const days = axis.last - axis.first + 1;
  const dayPx = Math.max(MIN_DAY_PX, (root.seenWidth - ROW_LABEL_PX) / days);
  const x = (day) => (day - axis.first) * dayPx;
  const width = Math.ceil(days * dayPx) + LABEL_PX;

  const ticks = monthsBetween(axis.first, axis.last)
    .filter(({ day }) => day >= axis.first)
    .map(({ day, label }) => place(h("span", { class: "tl-tick" }, label), x(day)));
  const rows = rowsOf(items, group, names).map((row) => {
    const lanes = [];
    const entries = row.items.map((item) => {
      const st = status(item);
      const { element, left, footprint } = itemElement(item, st, x, axis, dayPx, fresh);
      if (st === "unknown") return h("li", { hidden: true }, element); // not yet public: left out
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
  if (marker !== null) {
    const left = ROW_LABEL_PX + x(marker + 1);
    const shade = h("div", { class: "tl-after", "aria-hidden": "true" }, h("span", {}, "after the date"));
    const line = h("div", { class: "tl-marker", "aria-hidden": "true" });
    shade.style.left = line.style.left = `${left}px`;
    canvas.append(shade, line);
  }
  if (!rows.length) canvas.append(h("p", { class: "tl-empty" }, "No event matches."));
  root.replaceChildren(canvas);
  if (marker !== null) keepInView(root, ROW_LABEL_PX + x(marker + 1));
  for (const button of root.querySelectorAll(".tl-item")) button.addEventListener("click", () => onOpen(button.item, button));
  if (focusedId) root.querySelector(`.tl-item[data-event-id="${CSS.escape(focusedId)}"]`)?.focus();
}

function itemElement(item, st, x, axis, dayPx, fresh) {
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
    `status-${st}`,
    start < axis.first && "clipped-start",
    end > axis.last && "clipped-end",
    fresh.has(item.event.id) && "fresh",
  ];
  const notes = { after: "after the chosen date", retracted: "retracted", unknown: "not yet reported" };
  const label = [formatDate(occurred.text), item.event.title, notes[st], item.corrected && "corrected"];
  const bar = h("span", { class: point ? "tl-dot" : "tl-bar", "aria-hidden": "true" });
  if (!point) bar.style.width = `${span}px`;
  const element = h(
    "button",
    {
      type: "button",
      class: classes.filter(Boolean).join(" "),
      "aria-label": label.filter(Boolean).join(": "),
      title: `${formatDate(occurred.text)} — ${item.event.title}`,
      dataset: { eventId: item.event.id, counts: String(st === "counts"), status: st },
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
