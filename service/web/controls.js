// The controls: the date slider and field, "what was known then", the filters. Each reports a change of
// the view to `navigate(patch, how)`; how: "preview" (while the slider moves), "push" (a new entry in the
// browser's history: the back button steps through dates), "replace" (the same entry, a new URL).

import { formatDate, fromDay, lastDay } from "./dates.js";
import { $, h } from "./dom.js";
import { issueLabel } from "./matrix.js";

export class Controls {
  constructor(navigate) {
    this.navigate = navigate;
    this.view = null;
    this.axis = null;
    this.slider = $("#slider");
    this.field = $("#as-of");
    this.known = $("#known-then");
    this.vocabularyKey = "";
    const dated = (as_of) => ({ as_of, known_at: this.known.checked ? as_of : (this.view?.known_at ?? null) });
    this.slider.addEventListener("input", () => navigate(dated(fromDay(+this.slider.value)), "preview"));
    this.slider.addEventListener("change", () => navigate(dated(fromDay(+this.slider.value)), "push"));
    this.field.addEventListener("change", () => {
      if (this.field.value) navigate(dated(this.field.value), "push");
    });
    $("#latest").addEventListener("click", () => navigate({ as_of: null, known_at: null }, "push"));
    $("#follow").addEventListener("click", () => navigate({ at: null }, "push"));
    this.known.addEventListener("change", () => {
      if (!this.axis) return;
      const date = this.view.as_of ?? fromDay(this.axis.last);
      navigate(this.known.checked ? { as_of: date, known_at: date } : { known_at: null }, "push");
    });
    let typing = null;
    $("#q").addEventListener("input", (event) => {
      clearTimeout(typing);
      typing = setTimeout(() => navigate({ q: event.target.value.trim() }, "replace"), 250);
    });
    $("#group").addEventListener("change", (event) => navigate({ group: event.target.value }, "replace"));
    $("#retracted").addEventListener("change", (event) => navigate({ retracted: event.target.checked }, "replace"));
    $("#vocabulary").addEventListener("change", (event) => navigate({ vocabulary: event.target.checked }, "replace"));
    for (const kind of ["party", "issue"]) {
      $(`#${kind}-filter`).addEventListener("change", (event) => {
        const boxes = event.currentTarget.querySelectorAll("input:checked");
        navigate({ [kind]: [...boxes].map((box) => box.value) }, "replace");
      });
    }
  }

  // The checkboxes of the party and issue filters, made again only when the vocabulary changes.
  vocabulary(parties, issues) {
    const key = JSON.stringify([parties.map((p) => p.id), issues.map((i) => i.id)]);
    if (key === this.vocabularyKey) return;
    this.vocabularyKey = key;
    const boxes = (kind, entries, label) =>
      entries.map((entry) => h("label", {}, h("input", { type: "checkbox", name: kind, value: entry.id }), ` ${label(entry)}`));
    $("#party-filter").replaceChildren(h("legend", {}, "Parties"), ...boxes("party", parties, (p) => p.name));
    $("#issue-filter").replaceChildren(h("legend", {}, "Issues"), ...boxes("issue", issues, (i) => issueLabel(i.id)));
  }

  show(view, axis) {
    this.view = view;
    this.axis = axis;
    const day = view.as_of ? lastDay(view.as_of) : axis.last;
    this.slider.min = String(Math.min(axis.first, day ?? axis.first));
    this.slider.max = String(Math.max(axis.last, day ?? axis.last));
    this.slider.value = String(day ?? axis.last);
    const text = view.as_of ? formatDate(view.as_of) : "latest";
    this.slider.setAttribute("aria-valuetext", text);
    $("#slider-date").value = text;
    this.field.min = fromDay(+this.slider.min);
    this.field.max = fromDay(+this.slider.max);
    // not while a date is half typed in (the field's value is empty until it is complete)
    if (document.activeElement !== this.field || this.field.value) this.field.value = view.as_of && day !== null ? fromDay(day) : "";
    this.known.checked = view.known_at !== null;
    $("#known-then-help").textContent = view.known_at
      ? `counts only what had been reported by ${formatDate(view.known_at)}`
      : "counts only what had been reported by that date";
    for (const kind of ["party", "issue"]) {
      for (const box of document.querySelectorAll(`#${kind}-filter input`)) box.checked = view[kind].includes(box.value);
    }
    const q = $("#q");
    if (document.activeElement !== q) q.value = view.q;
    $("#group").value = view.group;
    $("#retracted").checked = view.retracted;
    $("#vocabulary").checked = view.vocabulary;
    const filters = view.party.length + view.issue.length + (view.q ? 1 : 0);
    $("#filter-count").textContent = filters ? `(${filters})` : "";
  }
}
