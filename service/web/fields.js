// Pieces of an event for the detail dialogs: its sources with their excerpts, the positions it reveals,
// and the fields of its own type.

import { describeDate, formatDate } from "./dates.js";
import { h, list, safeLink } from "./dom.js";

const ENVELOPE = new Set(["type", "id", "stream", "occurred", "reported", "title", "summary", "parties", "sources", "positions"]);
const words = (id) => String(id).replaceAll("_", " ");

export function sources(items) {
  return list(
    items,
    (s) => [
      h("cite", {}, s.url ? safeLink(s.url, s.title) : s.title),
      ` — ${s.publisher}`,
      s.date ? `, ${formatDate(s.date)}` : "",
      s.excerpt ? h("blockquote", { class: "excerpt" }, s.excerpt) : null,
    ],
    { class: "sources" },
  );
}

export function positions(items, names) {
  return list(
    items,
    (p) => [
      h("strong", {}, names.get(p.party) ?? p.party),
      ` ${p.stance} `,
      h("em", {}, words(p.issue)),
      p.basis ? h("span", { class: `basis basis-${p.basis}` }, p.basis) : null,
      `: ${p.summary}`,
      p.quote ? h("blockquote", { class: "quote" }, `“${p.quote}”`) : null,
    ],
    { class: "positions" },
  );
}

function value(key, v, names) {
  if (v === null || v === undefined || v === "") return null;
  if (key === "delegations") {
    return list(v, (d) => `${names.get(d.party) ?? d.party}${d.members.length ? `: ${d.members.map((m) => m.name + (m.role ? ` (${m.role})` : "")).join(", ")}` : ""}`);
  }
  if (key === "absent") return list(v, (a) => `${names.get(a.party) ?? a.party}${a.note ? ` — ${a.note}` : ""}`);
  if (key === "stages") return list(v, (s) => `${s.name}${s.terms.length ? `: ${s.terms.join("; ")}` : ""}`);
  if (Array.isArray(v)) return v.length ? v.map((x) => names.get(x) ?? words(x)).join(", ") : null;
  if (typeof v === "object") return JSON.stringify(v);
  if (["party", "by", "to"].includes(key)) return names.get(v) ?? v;
  if (key === "date" || key === "target") return String(v);
  return ["format", "track", "stage", "kind"].includes(key) ? words(v) : String(v);
}

// The envelope's dates and the fields of the event's own type, as a definition list.
export function facts(event, dates, names) {
  const rows = [
    ["type", words(event.type)],
    ["occurred", dates ? describeDate(dates.occurred.text, dates.occurred.precision) : formatDate(event.occurred)],
    ["reported", event.reported ? formatDate(event.reported) : "when it occurred"],
    ["parties", value("parties", event.parties, names)],
    ...Object.entries(event)
      .filter(([key]) => !ENVELOPE.has(key))
      .map(([key, v]) => [words(key), value(key, v, names)]),
  ];
  return h("dl", { class: "facts" }, rows.filter(([, v]) => v !== null).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}
