// The parties × issues matrix: a row per issue, a column per party, each cell its stance as colour, symbol
// and word (never colour alone), with its basis where the data has one. One tab stop for the whole grid;
// the arrow keys move between cells, Enter or Space opens one.

import { formatDate } from "./dates.js";
import { h } from "./dom.js";

export const STANCES = [
  ["supports", "✔"],
  ["opposes", "✘"],
  ["conditional", "◐"],
  ["neutral", "○"],
  ["unclear", "?"],
];
const SYMBOL = Object.fromEntries(STANCES);
export const cellKey = (party, issue) => `${party}|${issue}`;
export const issueLabel = (id) => id.replaceAll("_", " ");

export function renderLegend(list) {
  list.replaceChildren(
    ...STANCES.map(([stance, symbol]) =>
      h("li", { class: `swatch stance-${stance}` }, h("span", { "aria-hidden": "true" }, symbol), ` ${stance}`),
    ),
    h("li", { class: "swatch stance-none" }, "— no known stance"),
    h("li", { class: "swatch" }, h("span", { class: "basis basis-inferred" }, "inferred"), " from conduct"),
    h("li", { class: "swatch" }, h("span", { class: "changed-mark" }, "changed"), " since the date before"),
  );
}

export class Matrix {
  constructor(table, onOpen) {
    this.table = table;
    this.onOpen = onOpen;
    this.stands = null; // the stands last shown, to mark what the next date changed
    this.focusKey = null;
    table.addEventListener("keydown", (event) => this.keydown(event));
    table.addEventListener("focusin", (event) => this.focused(event.target));
    table.addEventListener("click", (event) => {
      const button = event.target.closest(".cell-button");
      if (button) this.onOpen(this.meta.get(button.dataset.key), button);
    });
  }

  // Returns how many cells changed since the last render. When the rows and columns are those shown
  // already, only the cells that now show something else are made again.
  render(state, filter) {
    const names = new Map(state.parties.map((p) => [p.id, p.name]));
    const stands = new Map(state.positions.map((s) => [cellKey(s.party, s.issue), s]));
    const parties = pick(state.parties, filter.party);
    const issues = pick(state.issues, filter.issue);
    const shape = JSON.stringify([parties, issues]);
    const hadFocus = this.table.contains(document.activeElement);
    const previous = this.drawn?.shape === shape ? this.drawn.cells : null;
    const cells = new Map(); // key -> { td, look }
    this.meta = new Map();
    let changed = 0;
    const rows = issues.map((issue) => {
      const tds = parties.map((party) => {
        const key = cellKey(party.id, issue.id);
        const stand = stands.get(key) ?? null;
        const was = this.stands ? (this.stands.get(key)?.stance ?? "none") : null;
        this.meta.set(key, { party, issue, stand, names });
        const change = was !== null && was !== (stand?.stance ?? "none") ? was : null;
        const look = JSON.stringify([stand?.stance, stand?.basis, stand?.since, stand?.event.id, change]);
        const kept = previous?.get(key);
        const td = kept?.look === look ? kept.td : this.cell(key, party, issue, stand, was);
        if (kept && kept.td !== td) kept.td.replaceWith(td);
        cells.set(key, { td, look });
        if (td.dataset.changed === "true") changed += 1;
        return td;
      });
      if (previous) return null;
      const header = h(
        "th",
        { scope: "row" },
        h("span", { class: "issue-id" }, issueLabel(issue.id)),
        h("span", { class: "proposition" }, issue.proposition),
      );
      return h("tr", {}, header, tds);
    });
    if (!previous) {
      const head = h("tr", {}, h("th", { scope: "col" }, "Issue"), parties.map((p) => h("th", { scope: "col" }, p.name)));
      this.table.tHead.replaceChildren(head);
      this.table.tBodies[0].replaceChildren(...rows);
    }
    this.drawn = { shape, cells };
    this.stands = stands;
    const target = this.button(this.focusKey) ?? this.table.querySelector(".cell-button");
    if (target) {
      target.tabIndex = 0;
      if (hadFocus && !target.contains(document.activeElement)) target.focus();
    }
    return changed;
  }

  cell(key, party, issue, stand, was) {
    const stance = stand?.stance ?? "none";
    const changed = was !== null && was !== stance;
    const basis = stand?.basis ?? null;
    const label = [
      `${party.name} on ${issueLabel(issue.id)}: ${stand ? stance : "no known stance"}`,
      basis && `(${basis})`,
      stand && `since ${formatDate(stand.since)}`,
      changed && `changed from ${was === "none" ? "no known stance" : was}`,
    ];
    const button = h(
      "button",
      { type: "button", class: "cell-button", tabindex: "-1", "aria-label": label.filter(Boolean).join(" "), dataset: { key } },
      h("span", { class: "symbol", "aria-hidden": "true" }, SYMBOL[stance] ?? "—"),
      stand && h("span", { class: "stance-word" }, stance),
      basis && h("span", { class: `basis basis-${basis}` }, basis),
      changed && h("span", { class: "changed-mark", title: `was: ${was}` }, "changed"),
    );
    const dataset = { party: party.id, issue: issue.id, stance, changed: String(changed), basis };
    return h("td", { class: `cell stance-${stance}${changed ? " changed" : ""}`, dataset }, button);
  }

  button(key) {
    return key ? this.table.querySelector(`.cell-button[data-key="${CSS.escape(key)}"]`) : null;
  }

  focused(target) {
    if (!target.classList?.contains("cell-button")) return;
    for (const other of this.table.querySelectorAll('.cell-button[tabindex="0"]')) other.tabIndex = -1;
    target.tabIndex = 0;
    this.focusKey = target.dataset.key;
  }

  keydown(event) {
    const button = event.target.closest(".cell-button");
    if (!button) return;
    const rows = [...this.table.tBodies[0].rows].map((row) => [...row.querySelectorAll(".cell-button")]);
    const r = rows.findIndex((row) => row.includes(button));
    const c = rows[r].indexOf(button);
    const moves = {
      ArrowLeft: [r, c - 1],
      ArrowRight: [r, c + 1],
      ArrowUp: [r - 1, c],
      ArrowDown: [r + 1, c],
      Home: [r, 0],
      End: [r, rows[r].length - 1],
    };
    const to = moves[event.key];
    if (!to) return;
    event.preventDefault();
    rows[to[0]]?.[to[1]]?.focus();
  }
}

function pick(all, chosen) {
  return chosen.length ? all.filter((entry) => chosen.includes(entry.id)) : all;
}
