// Proposals and agreements with their status on the chosen date, meetings with who sat at the table and
// who was absent: all as `/state` answers them.

import { formatDate } from "./dates.js";
import { h, list } from "./dom.js";

// An agreement's stages in order: one agreed in principle has not reached "signed".
export const STAGES = ["agreed_in_principle", "approved", "signed", "ratified", "in_force"];
const words = (id) => String(id).replaceAll("_", " ");

export function renderPanels(state, { proposals, agreements, meetings }, onOpenEvent) {
  const names = new Map(state.parties.map((p) => [p.id, p.name]));
  const who = (ids) => ids.map((id) => names.get(id) ?? id).join(", ");
  proposals.replaceChildren(...orEmpty(state.proposals.map((p) => proposal(p, who, onOpenEvent)), "No proposal yet."));
  agreements.replaceChildren(...orEmpty(state.agreements.map((a) => agreement(a, who, onOpenEvent)), "No agreement yet."));
  meetings.replaceChildren(...orEmpty([...state.meetings].reverse().map((m) => meeting(m, names, onOpenEvent)), "No meeting yet."));
}

function orEmpty(cards, text) {
  return cards.length ? cards : [h("li", { class: "empty" }, text)];
}

function history(steps, who, onOpenEvent) {
  return h(
    "ol",
    { class: "steps" },
    steps.map((step) =>
      h(
        "li",
        {},
        h("button", { type: "button", class: "linkish", onclick: (e) => onOpenEvent(step.event, e.currentTarget) }, words(step.status)),
        ` ${formatDate(step.date)}`,
        step.by.length ? ` by ${who(step.by)}` : "",
      ),
    ),
  );
}

function proposal(p, who, onOpenEvent) {
  const terms = [...p.terms, ...p.stages.map((s) => `${s.name}${s.terms.length ? `: ${s.terms.join("; ")}` : ""}`)];
  return h(
    "li",
    { class: "card", dataset: { proposal: p.id, status: p.status } },
    h("h3", {}, p.name),
    h("p", {}, h("span", { class: `badge status-${p.status}` }, words(p.status)), ` tabled by ${who(p.by)}`),
    terms.length ? h("details", {}, h("summary", {}, "Terms"), list(terms, (t) => t)) : null,
    history(p.history, who, onOpenEvent),
  );
}

function agreement(a, who, onOpenEvent) {
  const reached = STAGES.indexOf(a.stage);
  const stages = STAGES.map((stage, i) =>
    h("li", { class: i <= reached ? "reached" : "not-reached", "aria-current": i === reached ? "step" : null }, words(stage)),
  );
  const signed = reached >= STAGES.indexOf("signed");
  return h(
    "li",
    { class: "card", dataset: { agreement: a.id, stage: a.stage } },
    h("h3", {}, a.name),
    h(
      "p",
      {},
      h("span", { class: `badge stage-${a.stage}` }, words(a.stage)),
      ` between ${who(a.between)}`,
      signed ? "" : h("strong", { class: "not-signed" }, " — not signed"),
    ),
    h("ol", { class: "stages", "aria-label": "Stages" }, stages),
    a.terms.length ? h("details", {}, h("summary", {}, "Terms"), list(a.terms, (t) => t)) : null,
    history(a.history, who, onOpenEvent),
  );
}

function meeting(m, names, onOpenEvent) {
  const name = (id) => names.get(id) ?? id;
  const delegations = m.delegations.map((d) =>
    h(
      "li",
      { dataset: { party: d.party } },
      h("strong", {}, name(d.party)),
      d.members.length ? `: ${d.members.map((x) => (x.role ? `${x.name} (${x.role})` : x.name)).join(", ")}` : " (members not named)",
    ),
  );
  const absent = m.absent.map((a) =>
    h(
      "li",
      { dataset: { party: a.party } },
      h("strong", {}, name(a.party)),
      a.invited === false ? " (not invited)" : a.invited ? " (invited)" : "",
      a.note ? ` — ${a.note}` : "",
    ),
  );
  return h(
    "li",
    { class: `card meeting track-${m.track}`, dataset: { meeting: m.id, location: m.location ?? "" } },
    h("h3", {}, h("button", { type: "button", class: "linkish", onclick: (e) => onOpenEvent(m.event.id, e.currentTarget) }, m.title)),
    h(
      "p",
      {},
      // the data says no more than its sources: a place or format they do not give is null
      `${formatDate(m.date)} · ${m.location ?? "place not given"} · ${m.format ? words(m.format) : "format not given"} · `,
      h("span", { class: `badge track track-${m.track}` }, `track ${m.track}`),
    ),
    h("h4", {}, "At the table"),
    h("ul", { class: "delegations" }, delegations),
    absent.length ? [h("h4", {}, "Absent"), h("ul", { class: "absent" }, absent)] : null,
  );
}
