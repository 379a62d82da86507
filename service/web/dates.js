// Dates for people, from the EDTF text the API gives (`2025-02-18`, `2025-02~`, `2024-11/2025-02`), and
// day numbers for drawing. Which events count on which date is the API's answer, never computed here.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const PART = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?([~?%])?$/;
const QUALIFIERS = { "~": "approximate", "?": "uncertain", "%": "approximate and uncertain" };
const DAY_MS = 86400000;

export const toDay = (iso) => Math.floor(Date.parse(`${iso.slice(0, 10)}T00:00:00Z`) / DAY_MS);
export const fromDay = (day) => new Date(day * DAY_MS).toISOString().slice(0, 10);

function parsePart(text) {
  const match = PART.exec(text);
  if (!match) return null;
  const [, year, month, day, qualifier] = match;
  return { year: +year, month: month && +month, day: day && +day, qualifier };
}

function formatPart(text) {
  if (text === "..") return "open";
  if (text === "") return "unknown";
  const part = parsePart(text);
  if (!part) return text;
  const words = [part.day, part.month && MONTHS[part.month - 1], part.year].filter(Boolean).join(" ");
  return part.qualifier ? `${words} (${QUALIFIERS[part.qualifier]})` : words;
}

// "18 Feb 2025", "Feb 2025 (approximate)", "18 Feb 2025 – 26 Feb 2025"
export function formatDate(text) {
  if (!text) return "";
  return text.split("/").map(formatPart).join(" – ");
}

// The date with its precision spelled out: "Feb 2025 (approximate), month precision"
export function describeDate(text, precision) {
  return precision ? `${formatDate(text)}, ${precision} precision` : formatDate(text);
}

// The last day a date parameter stands for (as_of=2025-02 means the end of February): where to draw the
// marker of a date typed into the address bar.
export function lastDay(text) {
  const part = parsePart(text.split("/").pop());
  if (!part) return null;
  const month = part.month || 12;
  const day = part.day || new Date(Date.UTC(part.year, month, 0)).getUTCDate();
  return toDay(`${part.year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`);
}

export function monthsBetween(first, last) {
  const months = [];
  const start = new Date(first * DAY_MS);
  let year = start.getUTCFullYear();
  let month = start.getUTCMonth();
  for (;;) {
    const day = Date.UTC(year, month, 1) / DAY_MS;
    if (day > last) return months;
    months.push({ day, label: `${MONTHS[month]} ${year}` });
    month += 1;
    if (month === 12) [year, month] = [year + 1, 0];
  }
}
