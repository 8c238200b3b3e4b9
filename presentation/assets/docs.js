// Renders /openapi.json as a readable page: no framework and nothing fetched from elsewhere.
"use strict";

const METHODS = ["get", "post", "put", "patch", "delete"];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function resolve(doc, schema) {
  if (schema && typeof schema.$ref === "string" && schema.$ref.startsWith("#/components/schemas/")) {
    const name = schema.$ref.slice("#/components/schemas/".length);
    return { name, schema: (doc.components.schemas || {})[name] || {} };
  }
  return { name: null, schema: schema || {} };
}

function typeLabel(doc, schema) {
  const { name, schema: s } = resolve(doc, schema);
  if (name) return name;
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  const variants = s.oneOf || s.anyOf;
  if (variants) return variants.map((v) => typeLabel(doc, v)).join(" | ");
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  const labels = types.map((t) => (t === "array" ? `array of ${typeLabel(doc, s.items)}` : t));
  if (s.format) labels[0] = `${labels[0] || "string"} (${s.format})`;
  return labels.join(" | ") || "any";
}

function schemaTree(doc, schema, seen = new Set(), depth = 0) {
  const { name, schema: s } = resolve(doc, schema);
  if (name && seen.has(name)) return el("span", { class: "type" }, `${name} (see above)`);
  const inner = name ? new Set(seen).add(name) : seen;
  if (depth > 6) return el("span", { class: "type" }, typeLabel(doc, schema));
  const parts = [];
  for (const variant of s.allOf || []) parts.push(schemaTree(doc, variant, inner, depth + 1));
  for (const variant of s.oneOf || s.anyOf || []) {
    parts.push(el("div", {}, el("span", { class: "type" }, "one of: "), schemaTree(doc, variant, inner, depth + 1)));
  }
  const props = s.properties || (s.items && resolve(doc, s.items).schema.properties);
  const owner = s.properties ? s : s.items ? resolve(doc, s.items).schema : s;
  if (props) {
    const required = new Set(owner.required || []);
    const rows = Object.entries(props).map(([prop, sub]) =>
      el("li", {},
        el("code", {}, prop), " ",
        el("span", { class: "type" }, typeLabel(doc, sub)),
        required.has(prop) ? el("span", { class: "req" }, " required") : null,
        sub.description ? ` — ${sub.description}` : null,
        hasStructure(doc, sub) ? schemaTree(doc, sub, inner, depth + 1) : null));
    parts.push(el("ul", { class: "schema" }, rows));
  }
  if (!parts.length) return el("span", { class: "type" }, typeLabel(doc, schema));
  return el("div", {}, name ? el("span", { class: "type" }, name) : null, parts);
}

function hasStructure(doc, schema) {
  const { schema: s } = resolve(doc, schema);
  const items = s.items ? resolve(doc, s.items).schema : {};
  return Boolean(s.properties || s.allOf || s.oneOf || s.anyOf || items.properties);
}

// Each media type and its schema; named schemas fold away unless `open` (errors share one shape).
function content(doc, body, open) {
  const media = body && body.content ? Object.entries(body.content) : [];
  return media.map(([type, { schema }]) => {
    const { name, schema: resolved } = resolve(doc, schema);
    const tree = schemaTree(doc, name ? resolved : schema, new Set(name ? [name] : []));
    const shown = name ? el("details", open ? { open: "" } : {}, el("summary", {}, name), tree) : tree;
    return el("div", {}, el("code", {}, type), shown);
  });
}

function parameters(doc, params) {
  if (!params || !params.length) return null;
  const rows = params.map((p) => el("tr", {},
    el("td", {}, el("code", {}, p.name), p.required ? el("span", { class: "req" }, " required") : null),
    el("td", {}, p.in),
    el("td", {}, typeLabel(doc, p.schema)),
    el("td", {}, p.description || "")));
  return [el("h4", {}, "Parameters"),
    el("table", {}, el("thead", {}, el("tr", {}, ["Name", "In", "Type", "Description"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows))];
}

function responses(doc, all) {
  const rows = Object.entries(all || {}).map(([status, response]) => el("tr", {},
    el("td", {}, el("code", {}, status)),
    el("td", {}, response.description || "", content(doc, response, status.startsWith("2")))));
  return [el("h4", {}, "Responses"),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Status"), el("th", { scope: "col" }, "Body"))),
      el("tbody", {}, rows))];
}

function roleOf(op) {
  const requirements = Array.isArray(op.security) ? op.security : [];
  const scoped = requirements.find((r) => Array.isArray(r.api_key) && r.api_key.length);
  if (scoped) return `role: ${scoped.api_key.join(", ")}`;
  if (requirements.every((r) => Object.keys(r).length === 0)) return "no key needed";
  return null;
}

function operation(doc, path, method, op, id) {
  return el("section", { class: "op", id, "aria-labelledby": `${id}-h` },
    el("h3", { id: `${id}-h` },
      el("span", { class: `method ${method}` }, method), el("span", { class: "path" }, path),
      op.summary ? el("span", {}, op.summary) : null,
      el("span", { class: "role" }, roleOf(op) || "")),
    el("div", { class: "op-body" },
      op.description ? el("p", {}, op.description) : null,
      parameters(doc, op.parameters),
      op.requestBody ? [el("h4", {}, "Request body"), content(doc, op.requestBody, true)] : null,
      responses(doc, op.responses)));
}

function operations(doc) {
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      if (!item[method]) continue;
      const op = item[method];
      const tag = (op.tags && op.tags[0]) || "other";
      ops.push({ path, method, op, tag, id: op.operationId || `${method}-${path}`.replace(/[^A-Za-z0-9_-]/g, "_") });
    }
  }
  return ops;
}

function render(doc) {
  document.title = `${doc.info.title} ${doc.info.version}`;
  document.getElementById("title").textContent = `${doc.info.title} ${doc.info.version}`;
  const summary = document.getElementById("summary");
  summary.textContent = doc.info.description || "";
  summary.append(" The document itself: ", el("a", { href: "/openapi.json" }, "/openapi.json"),
    "; the WebSocket of the web chat is described in AsyncAPI 3.0 at ",
    el("a", { href: "/asyncapi.json" }, "/asyncapi.json"), ".");
  const byTag = new Map();
  for (const op of operations(doc)) {
    if (!byTag.has(op.tag)) byTag.set(op.tag, []);
    byTag.get(op.tag).push(op);
  }
  const toc = document.getElementById("toc");
  const main = document.getElementById("content");
  for (const [tag, ops] of byTag) {
    toc.append(el("h2", {}, tag), el("ul", {}, ops.map((o) =>
      el("li", {}, el("a", { href: `#${o.id}` }, `${o.method.toUpperCase()} ${o.path}`)))));
    main.append(el("h2", {}, tag), ...ops.map((o) => operation(doc, o.path, o.method, o.op, o.id)));
  }
  main.setAttribute("data-rendered", String(byTag.size));
}

fetch("/openapi.json")
  .then((response) => {
    if (!response.ok) throw new Error(`/openapi.json answered ${response.status}`);
    return response.json();
  })
  .then(render)
  .catch((err) => { document.getElementById("summary").textContent = `Could not load the API document: ${err.message}`; });
