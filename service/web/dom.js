// Building elements without innerHTML: every text from the data lands as a text node.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") {
      for (const [name, data] of Object.entries(value)) if (data !== null && data !== undefined) el.dataset[name] = data;
    }
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

// A link only for http(s) addresses: a source's url is data anyone with a write token supplied.
export function safeLink(url, text) {
  try {
    const parsed = new URL(url, location.href);
    if (parsed.protocol === "http:" || parsed.protocol === "https:") {
      return h("a", { href: parsed.href, rel: "noopener noreferrer", target: "_blank" }, text);
    }
  } catch {
    // not a URL: shown as text below
  }
  return h("span", {}, text);
}

export function list(items, render, attrs = {}) {
  return items.length ? h("ul", attrs, items.map((item) => h("li", {}, render(item)))) : null;
}
