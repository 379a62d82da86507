// The JSON API, as any client reads it. Pages are followed at the position of the first one, so a long
// answer is one snapshot of the log even while events are appended.

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function withQuery(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const item of [].concat(value ?? [])) {
      if (item !== "" && item !== false) query.append(key, String(item));
    }
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

// Answers asked for before the rest of the page's code had arrived (see first.js), each taken once.
const primed = new Map();

export function prime(url, key = null) {
  const answer = key ? getAll(url, key) : getJSON(url);
  answer.catch(() => {}); // whoever takes it sees the failure
  primed.set(url, answer);
}

function take(url) {
  const answer = primed.get(url);
  primed.delete(url);
  return answer;
}

export async function getJSON(url, signal) {
  const early = take(url);
  if (early) return early;
  const response = await fetch(url, { signal, headers: { Accept: "application/json" } });
  if (!response.ok) {
    const problem = await response.json().catch(() => null);
    throw new ApiError(response.status, problem);
  }
  return response.json();
}

// Every page of a paged answer (`/timeline`, `/parties/{id}/history`), its list under `key`.
export async function getAll(url, key, signal) {
  const early = take(url);
  if (early) return early;
  const first = await getJSON(url, signal);
  const all = [...first[key]];
  let next = first.next;
  while (next) {
    const url = new URL(next, location.href);
    if (!url.searchParams.has("at")) url.searchParams.set("at", first.position);
    const page = await getJSON(url.pathname + url.search, signal);
    all.push(...page[key]);
    next = page.next;
  }
  return { ...first, [key]: all };
}

export const isAbort = (error) => error?.name === "AbortError";
