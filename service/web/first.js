// Loaded as an async module ahead of the rest (and imported by main.js): asks the first view's questions
// while the page's other files are still arriving.

import { prime } from "./api.js";
import { questions, readView } from "./view.js";

const view = readView(location.search);
for (const [name, url] of Object.entries(questions(view, view.at))) prime(url, name === "state" ? null : "items");
