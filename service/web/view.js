// A view of the page is its URL: `/?as_of=2025-02-19&known_at=2025-02-19&at=46` opens that state, and
// what the controls show is read from and written to one of these.

import { withQuery } from "./api.js";

export function readView(search) {
  const params = new URLSearchParams(search);
  const at = params.get("at");
  return {
    as_of: params.get("as_of") || null,
    known_at: params.get("known_at") || null,
    at: at !== null && /^\d{1,15}$/.test(at) ? Number(at) : null,
    party: params.getAll("party"),
    issue: params.getAll("issue"),
    q: params.get("q") || "",
    group: params.get("group") === "stream" ? "stream" : "party",
    retracted: params.get("include_retracted") === "true",
    vocabulary: params.get("vocabulary") === "true",
  };
}

export function viewURL(view) {
  return withQuery("/", {
    as_of: view.as_of,
    known_at: view.known_at,
    at: view.at,
    party: view.party,
    issue: view.issue,
    q: view.q,
    group: view.group === "party" ? null : view.group,
    include_retracted: view.retracted && "true",
    vocabulary: view.vocabulary && "true",
  });
}

// The questions one view asks the API. `at` pins every answer to one log position.
export function questions(view, at) {
  const filters = { party: view.party, issue: view.issue, q: view.q };
  const asks = {
    state: withQuery("/state", { as_of: view.as_of, known_at: view.known_at, at }),
    // every event in the log as it stood (drawn on the axis), and those that count on the chosen date
    all: withQuery("/timeline", { ...filters, at, include_retracted: view.retracted && "true", limit: 500 }),
    counting: withQuery("/timeline", { ...filters, to: view.as_of, known_at: view.known_at, at, limit: 500 }),
  };
  if (view.known_at) {
    // what had happened by the date, known or not: the rest of what does not count lies after it
    asks.occurred = withQuery("/timeline", { ...filters, to: view.as_of, at, limit: 500 });
  }
  return asks;
}
