// The admin console: first setup, sign-in, the conversations waiting for a person and the
// latest ones, a conversation's thread with the operator's reply box and its handoff, release
// and end buttons, and the bots: created, edited, paused and resumed, with their summary and
// their bindings' webhook URLs. A control shows only to the roles the API lets use it
// (`data-role`). Plain DOM, nothing fetched from elsewhere; the key lives in sessionStorage.
const KEY = "switchboard.key";
const RANK = { viewer: 0, operator: 1, admin: 2 };
const $ = (id) => document.getElementById(id);
let open = null;
let openBot = null;
let role = "viewer";

/// Shows only the view named, and the controls `role` may use.
function view(name) {
  for (const id of ["thread", "bot", "lists"]) $(id).hidden = id !== name;
  for (const element of document.querySelectorAll("[data-role]")) {
    element.hidden = RANK[role] < RANK[element.dataset.role];
  }
}

function notice(text, error = false) {
  $("notice").textContent = text;
  $("notice").className = error ? "error" : "";
}

function item(label, detail, ...actions) {
  const li = document.createElement("li");
  const text = document.createElement("span");
  text.textContent = label;
  const small = document.createElement("span");
  small.className = "muted";
  small.textContent = detail;
  text.append(" ", small);
  li.append(text, ...actions);
  return li;
}

const guarded = (action) => () => action().catch((error) => notice(error.message, true));

function button(label, action) {
  const element = document.createElement("button");
  element.textContent = label;
  element.addEventListener("click", guarded(action));
  return element;
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY)}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.detail || `${path} answered ${response.status}`);
  return answer;
}

async function setUp(token) {
  history.replaceState(null, "", "/admin");
  const response = await fetch("/setup", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token }),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) return notice(answer.detail || "the setup token was refused", true);
  sessionStorage.setItem(KEY, answer.key);
  $("issued-key").textContent = answer.key;
  $("issued").hidden = false;
}

function chatLabel(c) {
  return `${c.platform} chat ${c.external_chat_id}`;
}

function conversationItem(c) {
  const detail = c.mode === "human"
    ? `with ${c.assigned_to || "a person"} since ${c.handed_off_at}`
    : `${c.status}, updated ${c.updated_at}`;
  return item(chatLabel(c), detail, button("Open", () => showThread(c.id)));
}

async function showThread(id) {
  const [c, messages] = await Promise.all([
    api("GET", `/api/v1/conversations/${id}`),
    api("GET", `/api/v1/conversations/${id}/messages?limit=200`),
  ]);
  open = c;
  $("thread-title").textContent = `${chatLabel(c)} (${c.mode === "human" ? "with a person" : "with the bot"}, ${c.status})`;
  $("messages").replaceChildren(...messages.items.map((m) => {
    const li = document.createElement("li");
    li.className = m.direction;
    li.textContent = m.text;
    const status = document.createElement("div");
    status.className = "muted";
    status.textContent = `${m.direction === "inbound" ? "received" : m.status} ${m.created_at}`;
    li.append(status);
    return li;
  }));
  $("hand-off").hidden = c.mode === "human" || c.status !== "active";
  $("release").hidden = c.mode !== "human" || c.status !== "active";
  $("end").hidden = c.status !== "active";
  view("thread");
  if (c.status !== "active") $("reply").hidden = true;
}

async function act(action, body) {
  await api("POST", `/api/v1/conversations/${open.id}/${action}`, body);
  await showThread(open.id);
}

async function showLists() {
  const [waiting, latest, bots] = await Promise.all([
    api("GET", "/api/v1/conversations?mode=human"),
    api("GET", "/api/v1/conversations?limit=20"),
    api("GET", "/api/v1/bots"),
  ]);
  $("waiting").replaceChildren(...waiting.items.map(conversationItem));
  if (waiting.items.length === 0) $("waiting").replaceChildren(item("Nobody is waiting.", ""));
  $("latest").replaceChildren(...latest.items.map(conversationItem));
  $("bots").replaceChildren(...bots.items.map((b) =>
    item(b.name, `${b.status}, ${b.model || "default model"}`, button("Open", () => showBot(b.id)))));
  view("lists");
}

function copyButton(text) {
  return button("Copy", async () => {
    await navigator.clipboard.writeText(text);
    notice(`Copied ${text}`);
  });
}

async function showBot(id) {
  const [bot, summary, bindings] = await Promise.all([
    api("GET", `/api/v1/bots/${id}`),
    api("GET", `/api/v1/bots/${id}/summary`),
    api("GET", `/api/v1/bots/${id}/platforms`),
  ]);
  openBot = bot;
  $("bot-title").textContent = `${bot.name} (${bot.status})`;
  $("bot-summary").textContent = `${summary.conversations} conversations, ${summary.messages.inbound} messages in, `
    + `${summary.messages.outbound} out, ${summary.failures} failed, ${summary.tokens.total} tokens`;
  $("bindings").replaceChildren(...bindings.items.map((b) => item(b.platform, b.webhook_url, copyButton(b.webhook_url))));
  if (bindings.items.length === 0) $("bindings").replaceChildren(item("Not bound to any platform yet.", ""));
  $("bot-name").value = bot.name;
  $("bot-prompt").value = bot.system_prompt;
  $("bot-model").value = bot.model ?? "";
  $("bot-temperature").value = bot.temperature ?? "";
  $("bot-fallback").value = bot.fallback_message ?? "";
  $("bot-keywords").value = bot.handoff_keywords.join(", ");
  $("bot-handoff-message").value = bot.handoff_message ?? "";
  $("bot-idle").value = bot.handoff_idle_minutes;
  view("bot");
  $("pause").hidden = bot.status === "paused";
  $("resume").hidden = bot.status !== "paused";
}

/// The bot form's fields as a PATCH body: an empty optional field is `null`.
function botChanges() {
  const optional = (id) => $(id).value.trim() || null;
  const temperature = optional("bot-temperature");
  return {
    name: $("bot-name").value,
    system_prompt: $("bot-prompt").value,
    model: optional("bot-model"),
    temperature: temperature === null ? null : Number(temperature),
    fallback_message: optional("bot-fallback"),
    handoff_keywords: $("bot-keywords").value.split(",").map((k) => k.trim()).filter((k) => k),
    handoff_message: optional("bot-handoff-message"),
    handoff_idle_minutes: Number($("bot-idle").value),
  };
}

async function show() {
  const me = await api("GET", "/api/v1/me");
  role = me.role;
  $("who").textContent = `${me.name || "bootstrap key"} (${me.role})`;
  await showLists();
  $("sign-in").hidden = true;
  $("signed-in").hidden = false;
  $("sign-out").hidden = false;
}

async function start() {
  const setup = new URLSearchParams(location.hash.slice(1)).get("setup");
  if (setup) await setUp(setup);
  if (!sessionStorage.getItem(KEY)) {
    $("sign-in").hidden = false;
    return;
  }
  try {
    await show();
  } catch (error) {
    sessionStorage.removeItem(KEY);
    $("sign-in").hidden = false;
    notice(error.message, true);
  }
}

$("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("key").value.trim());
  $("key").value = "";
  notice("");
  await start();
});
$("reply").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("reply-text").value;
  guarded(async () => {
    await act("messages", { text });
    $("reply-text").value = "";
  })();
});
$("hand-off").addEventListener("click", guarded(() => act("handoff")));
$("release").addEventListener("click", guarded(() => act("release", { answer_pending: true })));
$("end").addEventListener("click", guarded(() => act("end")));
for (const back of document.querySelectorAll("button.back")) back.addEventListener("click", guarded(showLists));
$("bot-form").addEventListener("submit", (event) => {
  event.preventDefault();
  guarded(async () => {
    await api("PATCH", `/api/v1/bots/${openBot.id}`, botChanges());
    await showBot(openBot.id);
    notice("Saved.");
  })();
});
$("pause").addEventListener("click", guarded(async () => {
  await api("POST", `/api/v1/bots/${openBot.id}/pause`);
  await showBot(openBot.id);
}));
$("resume").addEventListener("click", guarded(async () => {
  await api("POST", `/api/v1/bots/${openBot.id}/resume`);
  await showBot(openBot.id);
}));
$("new-bot").addEventListener("submit", (event) => {
  event.preventDefault();
  guarded(async () => {
    const bot = await api("POST", "/api/v1/bots", { name: $("new-bot-name").value, system_prompt: "" });
    $("new-bot-name").value = "";
    await showBot(bot.id);
  })();
});
$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  location.reload();
});

start();
