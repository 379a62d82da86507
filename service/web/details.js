// The detail dialog (a modal <dialog>: Escape or the close button shuts it, focus goes back to what
// opened it): a matrix cell's stance, the event that set it, its sources and the cell's history; or one
// event, as it counts, with what corrected or retracted it.

import { getAll, getJSON, isAbort, withQuery } from "./api.js";
import { describeDate, formatDate } from "./dates.js";
import { $, h } from "./dom.js";
import { facts, positions, sources } from "./fields.js";
import { issueLabel } from "./matrix.js";

export class Details {
  constructor(dialog, context) {
    this.dialog = dialog;
    this.context = context; // () => { view, position, names, items }: what the page shows now
    this.opener = null;
    this.controller = null;
    $("#detail-close", dialog).addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (event) => event.target === dialog && dialog.close()); // the backdrop
    dialog.addEventListener("close", () => {
      this.controller?.abort();
      if (this.opener?.isConnected) this.opener.focus();
      this.opener = null;
    });
  }

  open(title, nodes, opener) {
    this.controller?.abort();
    this.controller = new AbortController();
    $("#detail-title", this.dialog).textContent = title;
    $("#detail-body", this.dialog).replaceChildren(...nodes.flat().filter(Boolean));
    if (!this.dialog.open) {
      this.opener = opener;
      this.dialog.showModal();
    }
    $("#detail-body", this.dialog).scrollTop = 0;
    return this.controller.signal;
  }

  async showCell({ party, issue, stand, names }, opener) {
    const { view, position } = this.context();
    const historyList = h("ol", { class: "history", "aria-busy": "true" }, h("li", {}, "Loading…"));
    const body = [
      h("p", { class: "proposition" }, `Issue: ${issue.proposition}`),
      stand ? standBlock(stand, (id, el) => this.showEvent(id, el)) : h("p", {}, "No known stance on this date."),
      h("h3", {}, "History of this cell"),
      historyList,
    ];
    const signal = this.open(`${party.name} on ${issueLabel(issue.id)}`, body, opener);
    const path = `/parties/${encodeURIComponent(party.id)}/history`;
    const axes = { known_at: view.known_at, at: position, limit: 500 };
    try {
      const [everything, counting] = await Promise.all([
        getAll(withQuery(path, axes), "changes", signal),
        getAll(withQuery(path, { ...axes, as_of: view.as_of }), "changes", signal),
      ]);
      const key = (c) => `${c.after.event.id}|${c.after.issue}`;
      const counted = new Set(counting.changes.map(key));
      const rows = everything.changes
        .filter((c) => c.after.issue === issue.id)
        .map((c) => historyRow(c, counted.has(key(c)), names, (id, el) => this.showEvent(id, el)));
      historyList.replaceChildren(...(rows.length ? rows : [h("li", {}, "No position taken on this issue.")]));
      historyList.removeAttribute("aria-busy");
    } catch (error) {
      if (!isAbort(error)) historyList.replaceChildren(h("li", { role: "alert" }, `Could not load the history: ${error.message}`));
    }
  }

  async showEvent(id, opener) {
    const { names, items } = this.context();
    const shown = items.get(id) ?? null; // as it counts in the view: corrected where corrections count
    const revision = h("div", { class: "revision" });
    const event = shown?.event;
    const body = event
      ? [
          h("p", { class: "summary" }, event.summary),
          facts(event, shown.dates, names),
          shown.retracted ? h("p", { class: "notice retracted" }, "This event was retracted: it counts on no date.") : null,
          event.positions.length ? [h("h3", {}, "Positions it reveals"), positions(event.positions, names)] : null,
          h("h3", {}, "Sources"),
          sources(event.sources),
          revision,
        ]
      : [revision];
    const signal = this.open(event?.title ?? "Event", body, opener);
    try {
      const { event: stored } = await getJSON(`/events/${encodeURIComponent(id)}`, signal);
      if (!event) {
        $("#detail-title", this.dialog).textContent = stored.event.title;
        revision.before(h("p", { class: "summary" }, stored.event.summary), facts(stored.event, stored.dates, names), h("h3", {}, "Sources"), sources(stored.event.sources));
      }
      revision.replaceChildren(...revisionNotes(stored, shown));
    } catch (error) {
      if (!isAbort(error)) revision.replaceChildren(h("p", { role: "alert" }, `Could not load the event: ${error.message}`));
    }
  }
}

function standBlock(stand, openEvent) {
  return h(
    "div",
    { class: `stand stance-${stand.stance}` },
    h("p", { class: "stance-line" }, h("strong", {}, stand.stance), stand.basis ? h("span", { class: `basis basis-${stand.basis}` }, stand.basis) : null),
    h("p", {}, stand.summary),
    stand.quote ? h("blockquote", { class: "quote" }, `“${stand.quote}”`) : null,
    h(
      "p",
      { class: "since" },
      `Since ${describeDate(stand.since, stand.since_precision)}`,
      stand.since_end && !stand.since.includes("/") ? `, a date that runs to ${formatDate(stand.since_end)}` : "",
    ),
    h(
      "p",
      {},
      "Set by: ",
      h("button", { type: "button", class: "linkish", onclick: (e) => openEvent(stand.event.id, e.currentTarget) }, stand.event.title),
      ` (${stand.event.type}, ${formatDate(stand.event.occurred)}, log position ${stand.event.position}${stand.event.corrected ? ", corrected" : ""})`,
    ),
    h("h3", {}, "Sources"),
    sources(stand.event.sources),
  );
}

function historyRow(change, counts, names, openEvent) {
  const after = change.after;
  return h(
    "li",
    { class: counts ? "counts" : "later", dataset: { counts: String(counts) } },
    h("strong", {}, formatDate(after.since)),
    `: ${change.before ?? "no stance"} → ${after.stance}`,
    after.basis ? h("span", { class: `basis basis-${after.basis}` }, after.basis) : null,
    counts ? "" : h("em", {}, " (after the chosen date)"),
    h("br"),
    after.summary,
    " ",
    h("button", { type: "button", class: "linkish", onclick: (e) => openEvent(after.event.id, e.currentTarget) }, after.event.title),
  );
}

function revisionNotes(stored, shown) {
  const notes = [
    h("p", { class: "record" }, `Log position ${stored.position}, version ${stored.version} of stream ${stored.event.stream}, recorded ${stored.recorded_at}. `, h("a", { href: stored.href }, "The record as JSON")),
  ];
  for (const fix of stored.corrected_by) notes.push(h("p", { class: "notice" }, `Corrected by the event at log position ${fix.position} (`, h("a", { href: `/events/${fix.id}` }, "the correction"), ")."));
  for (const fix of stored.retracted_by) notes.push(h("p", { class: "notice" }, `Retracted by the event at log position ${fix.position} (`, h("a", { href: `/events/${fix.id}` }, "the retraction"), ")."));
  if (shown?.corrected) {
    notes.push(
      h("h3", {}, "The original, as first recorded"),
      h("p", {}, h("strong", {}, stored.event.title), ` — ${formatDate(stored.event.occurred)}`),
      h("p", {}, stored.event.summary),
      h("p", {}, h("a", { href: stored.href, class: "original-link" }, "The original record")),
    );
  }
  return notes;
}
