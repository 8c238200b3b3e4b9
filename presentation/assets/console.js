// The admin console: first setup, sign-in, an inbox kept live by the events socket
// (/api/v1/events: the conversations waiting for a person and the latest ones), a
// conversation's thread with each message's delivery status, a "typing" hint, the operator's
// reply box and the handoff, release and end buttons; the bots, created, edited, paused and
// resumed, with their summary and their bindings (webhook URLs to copy, a form per platform,
// unbind); and the API keys, created (shown once), listed and revoked. A control shows only to
// the roles the API lets use it (`data-role`). Plain DOM, nothing fetched from elsewhere; the
// key lives in sessionStorage. Views are addressed by the fragment: #/, #/conversation/ID,
// #/bot/ID, #/keys.
const KEY = "switchboard.key";
const RANK = { viewer: 0, operator: 1, admin: 2 };
const PLATFORMS = {
  telegram: "Telegram", discord: "Discord", messenger: "Messenger", whatsapp: "WhatsApp", web_chat: "Web chat",
};
/// The events socket's close code for a key it refuses: sign out rather than retry.
const CLOSE_UNAUTHENTICATED = 4401;
/// At most this many topics may be followed on one socket (the bots' and `handoffs`).
const MAX_TOPICS = 100;
/// A burst of events within this many milliseconds makes one re-read.
const REREAD_AFTER_MS = 250;

const $ = (id) => document.getElementById(id);
let role = "viewer";
let me = null;
/// What the fragment names: `{ name: "" | "conversation" | "bot" | "keys", id }`.
let current = { name: null, id: null };
let open = null;
let openBot = null;
let botNames = new Map();

// ---------------------------------------------------------------- small helpers

const can = (least) => RANK[role] >= RANK[least];

function notice(text, error = false) {
  $("notice").textContent = text;
  $("notice").className = error ? "error" : "";
}

/// Hides `element` from roles below its `data-role`.
function gate(element) {
  if (element.dataset.role) element.hidden = !can(element.dataset.role);
  return element;
}

function element(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

/// A list row: a label (a link when `href` is given), a muted detail, then `actions`.
function item(label, detail, href, ...actions) {
  const li = element("li");
  const text = element("span", "row-text");
  const main = href ? element("a", "", label) : element("span", "", label);
  if (href) main.href = href;
  text.append(main, " ", element("span", "muted", detail));
  li.append(text, ...actions);
  return li;
}

function guarded(action) {
  return (...args) => action(...args).catch((error) => notice(error.message, true));
}

/// A button running `action`; with `least`, shown only to that role and above.
function button(label, action, least, className = "") {
  const made = element("button", className, label);
  made.type = "button";
  made.addEventListener("click", guarded(action));
  if (least) made.dataset.role = least;
  return gate(made);
}

function copyButton(text) {
  return button("Copy", () => copy(text));
}

async function copy(text) {
  if (!navigator.clipboard) return notice("This page cannot reach the clipboard here: select the text and copy it.");
  await navigator.clipboard.writeText(text);
  notice(`Copied ${text.length > 60 ? "it" : text}.`);
}

/// A time as the operator reads it: the hour today, else the day and hour.
function when(time) {
  if (!time) return "";
  const at = new Date(time);
  const today = at.toDateString() === new Date().toDateString();
  return today
    ? at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : at.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

/// A long external id (a visitor's UUID) cut to its first characters.
const short = (id) => (id.length > 20 ? `${id.slice(0, 8)}…` : id);

/// Runs a form's submission: its button disabled meanwhile, its errors shown next to it.
function onSubmit(form, action) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const submit = form.querySelector("button[type=submit]");
    clearFormError(form);
    submit.disabled = true;
    action()
      .catch((error) => showFormError(form, error))
      .finally(() => { submit.disabled = false; });
  });
}

function clearFormError(form) {
  form.querySelector(".form-error").replaceChildren();
  for (const field of form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
}

/// The problem's `errors[]` (each field named by its label, and marked invalid), else its `detail`.
function showFormError(form, error) {
  const place = form.querySelector(".form-error");
  const fields = error.problem?.errors || [];
  if (fields.length === 0) return place.replaceChildren(error.message);
  const list = element("ul");
  for (const { field, reason } of fields) {
    const input = form.querySelector(`[name="${CSS.escape(field)}"]:not(:disabled)`);
    if (input) input.setAttribute("aria-invalid", "true");
    const label = input?.id ? form.querySelector(`label[for="${input.id}"]`)?.textContent : null;
    list.append(element("li", "", `${label || field}: ${reason}`));
  }
  place.replaceChildren(list);
}

// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(message, status, problem) {
    super(message);
    this.status = status;
    this.problem = problem;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY)}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 204) return null;
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401) signOut("The key was refused (revoked or expired?): sign in again.");
  if (!response.ok) throw new ApiError(answer.detail || `${path} answered ${response.status}`, response.status, answer);
  return answer;
}

// ---------------------------------------------------------------- views and the fragment

/// Shows only the view named, and the controls `role` may use.
function view(name) {
  for (const id of ["thread", "bot", "lists", "keys"]) $(id).hidden = id !== name;
  for (const gated of document.querySelectorAll("[data-role]")) gate(gated);
}

function parseHash() {
  const [, name = "", id = null] = location.hash.match(/^#\/([a-z]*)\/?([^/]*)$/) || [];
  return { name, id: id || null };
}

/// Goes to `hash` (kept in the history), then shows it.
function go(hash) {
  if (location.hash !== hash) history.pushState(null, "", hash);
  return route();
}

/// Each view's loader (it reads, then fills the view) and whether the role may see it.
const VIEWS = {
  conversation: { view: "thread", least: "viewer", load: (id) => loadThread(id), after: () => renderThreadControls() },
  bot: { view: "bot", least: "viewer", load: (id) => loadBot(id), after: () => renderBotControls() },
  keys: { view: "keys", least: "admin", load: () => loadKeys(), after: () => {} },
  "": { view: "lists", least: "viewer", load: () => loadLists(), after: () => {} },
};

/// Reads and shows what the fragment names (the inbox for anything else).
async function route() {
  let next = parseHash();
  const known = VIEWS[next.name] && (next.name === "" || next.name === "keys" || next.id);
  if (!known || !can(VIEWS[next.name].least)) {
    history.replaceState(null, "", "#/");
    next = { name: "", id: null };
  }
  if (next.name !== current.name || next.id !== current.id) {
    notice("");
    for (const form of document.querySelectorAll("form")) if (form.querySelector(".form-error")) clearFormError(form);
    showTyping(false);
    $("bound").hidden = true;
  }
  current = next;
  const { view: name, load, after } = VIEWS[next.name];
  try {
    await load(next.id);
    if (current !== next) return;
    view(name);
    after();
  } catch (error) {
    notice(error.message, true);
  }
}

// ---------------------------------------------------------------- the inbox

/// What the events said about a conversation since it was last opened: `new message`, ….
const activity = new Map();
const ACTIVITY = {
  "message.received": "new message",
  "reply.started": "bot typing…",
  "message.sent": null,
  "message.failed": "delivery failed",
  "message.rate_limited": "rate limited",
  "conversation.handoff": "taken over",
  "conversation.released": "given back",
  "conversation.ended": "ended",
};

function chatLabel(c) {
  const bot = botNames.get(c.bot_id);
  return `${PLATFORMS[c.platform] || c.platform} ${short(c.external_chat_id)}${bot ? ` · ${bot}` : ""}`;
}

function conversationItem(c) {
  const detail = c.mode === "human"
    ? `with ${c.assigned_to || "a person"} since ${when(c.handed_off_at)}`
    : `${c.status}, updated ${when(c.updated_at)}`;
  const li = item(chatLabel(c), detail, `#/conversation/${c.id}`);
  li.dataset.conversation = c.id;
  const fresh = activity.get(c.id);
  if (fresh) li.querySelector(".row-text").append(" ", element("span", "badge", fresh));
  return li;
}

/// The inbox and the bots, read at once; the bots' names label the conversations.
async function loadLists() {
  const [bots, conversations] = await Promise.all([
    api("GET", `/api/v1/bots?limit=${MAX_TOPICS - 1}`),
    readConversations(),
  ]);
  showBots(bots.items);
  showConversations(conversations);
}

/// The bots, each followed on the events socket.
function showBots(bots) {
  botNames = new Map(bots.map((b) => [b.id, b.name]));
  follow(bots.map((b) => `bots/${b.id}`));
  $("bots").replaceChildren(...bots.map((b) => item(b.name, `${b.status}, ${b.model || "default model"}`, `#/bot/${b.id}`)));
  if (bots.length === 0) $("bots").replaceChildren(item("No bot yet.", ""));
}

/// The conversations waiting for a person, the longest waiting first, and the latest ones.
async function readConversations() {
  const [waiting, latest] = await Promise.all([
    api("GET", "/api/v1/conversations?mode=human&limit=50"),
    api("GET", "/api/v1/conversations?limit=20"),
  ]);
  return { waiting: waiting.items, latest: latest.items };
}

function showConversations({ waiting, latest }) {
  $("waiting").replaceChildren(...waiting.map(conversationItem));
  if (waiting.length === 0) $("waiting").replaceChildren(item("Nobody is waiting.", ""));
  $("latest").replaceChildren(...latest.map(conversationItem));
  if (latest.length === 0) $("latest").replaceChildren(item("No conversation yet.", ""));
}

// ---------------------------------------------------------------- a conversation's thread

/// How many of the latest messages a re-read reads again (their status may have changed).
const RECHECKED = 200;

/// The conversation's messages after the message `after` (none: from the first), oldest first.
async function messagesAfter(id, after) {
  const items = [];
  let cursor = after;
  for (;;) {
    const query = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const page = await api("GET", `/api/v1/conversations/${id}/messages?limit=200${query}`);
    items.push(...page.items);
    if (!page.next_cursor) return items;
    cursor = page.next_cursor;
  }
}

/// Every message of the conversation: those already shown are read again only from the
/// first pending one or the last RECHECKED, whichever comes first.
async function threadMessages(id) {
  const known = open?.id === id ? open.messages : [];
  const pending = known.findIndex((m) => m.status === "pending");
  const keep = Math.max(0, Math.min(pending === -1 ? known.length : pending, known.length - RECHECKED));
  const fresh = await messagesAfter(id, keep > 0 ? known[keep - 1].id : null);
  return [...known.slice(0, keep), ...fresh];
}

function messageItem(m) {
  const li = element("li", `${m.direction} ${m.status}`, m.text);
  li.dataset.message = m.id;
  const status = m.direction === "inbound" ? "received" : m.status;
  const detail = `${status}${m.error ? `: ${m.error}` : ""} · ${when(m.created_at)}`;
  li.append(element("div", "muted status", detail));
  return li;
}

async function loadThread(id) {
  const [c, messages] = await Promise.all([api("GET", `/api/v1/conversations/${id}`), threadMessages(id)]);
  if (current.id !== id) return;
  open = { ...c, messages };
  activity.delete(id);
  const shown = $("messages").children.length;
  $("thread-title").textContent = `${chatLabel(c)} (${c.mode === "human" ? "with a person" : "with the bot"}, ${c.status})`;
  $("thread-meta").textContent = c.mode === "human"
    ? `Taken over by ${c.assigned_to || "a person"} at ${when(c.handed_off_at)}: the bot stays quiet.`
    : `Started ${when(c.created_at)}; the bot answers.`;
  $("messages").replaceChildren(...messages.map(messageItem));
  if (messages.length > shown) $("messages").lastElementChild?.scrollIntoView({ block: "nearest" });
  renderThreadControls();
}

/// The thread's buttons for the open conversation's state and the role.
function renderThreadControls() {
  if (!open) return;
  const active = open.status === "active";
  $("reply").hidden = !can("operator") || !active;
  $("hand-off").hidden = open.mode === "human" || !active;
  $("release").hidden = open.mode !== "human" || !active;
  $("end").hidden = !active;
}

function showTyping(on) {
  $("typing").hidden = !on;
  clearTimeout(showTyping.timer);
  if (on) showTyping.timer = setTimeout(() => { $("typing").hidden = true; }, 30000);
}

async function act(action, body) {
  const id = open.id;
  await api("POST", `/api/v1/conversations/${id}/${action}`, body);
  await loadThread(id);
}

/// Given back, the bot answers the latest message only when nobody has since it came.
function releaseBody() {
  const last = open.messages[open.messages.length - 1];
  return { answer_pending: last?.direction === "inbound" };
}

// ---------------------------------------------------------------- a bot

async function loadSummary(id) {
  const summary = await api("GET", `/api/v1/bots/${id}/summary`);
  if (current.id !== id) return;
  $("bot-summary").textContent = `${summary.conversations} conversations, ${summary.messages.inbound} messages in, `
    + `${summary.messages.outbound} out, ${summary.failures} failed, ${summary.tokens.total} tokens`;
}

function bindingItem(b) {
  const detail = [b.mode, b.gateway ? "gateway" : null].filter(Boolean).join(", ");
  const li = item(PLATFORMS[b.platform] || b.platform, detail);
  li.dataset.platform = b.platform;
  li.querySelector(".row-text").append(element("code", "url", b.webhook_url));
  li.append(copyButton(b.webhook_url), button("Unbind", () => unbind(b.platform), "admin", "danger"));
  return li;
}

async function loadBindings(id) {
  const bindings = await api("GET", `/api/v1/bots/${id}/platforms`);
  if (current.id !== id) return;
  $("bindings").replaceChildren(...bindings.items.map(bindingItem));
  if (bindings.items.length === 0) $("bindings").replaceChildren(item("Not bound to any platform yet.", ""));
}

async function loadBot(id) {
  const bot = await api("GET", `/api/v1/bots/${id}`);
  await Promise.all([loadSummary(id), loadBindings(id)]);
  if (current.id !== id) return;
  openBot = bot;
  follow([`bots/${id}`]);
  $("bot-title").textContent = `${bot.name} (${bot.status})`;
  $("bot-name").value = bot.name;
  $("bot-prompt").value = bot.system_prompt;
  $("bot-model").value = bot.model ?? "";
  $("bot-temperature").value = bot.temperature ?? "";
  $("bot-fallback").value = bot.fallback_message ?? "";
  $("bot-keywords").value = bot.handoff_keywords.join(", ");
  $("bot-handoff-message").value = bot.handoff_message ?? "";
  $("bot-idle").value = bot.handoff_idle_minutes;
  renderBotControls();
}

function renderBotControls() {
  if (!openBot) return;
  $("pause").hidden = openBot.status === "paused";
  $("resume").hidden = openBot.status !== "paused";
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

async function botAction(action) {
  await api("POST", `/api/v1/bots/${openBot.id}/${action}`);
  await loadBot(openBot.id);
}

// ---------------------------------------------------------------- binding forms

/// Shows the chosen platform's fields; the others are disabled, so their `required` rests.
function showPlatformFields() {
  const platform = $("bind-platform").value;
  for (const fieldset of $("bind-form").querySelectorAll("fieldset[data-platform]")) {
    const chosen = fieldset.dataset.platform === platform;
    fieldset.hidden = !chosen;
    fieldset.disabled = !chosen;
  }
}

/// A webhook secret Telegram accepts: 32 random characters of A-Z a-z 0-9.
function randomSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replace(/[+/=]/g, "x");
}

/// The chosen platform's fields as the PUT body, by their `name`s: empty ones left out.
function bindingBody() {
  const fieldset = $("bind-form").querySelector("fieldset:not(:disabled)");
  const body = {};
  for (const input of fieldset.querySelectorAll("[name]")) {
    const kind = input.dataset.kind;
    const value = input.value.trim();
    if (kind === "flag") body[input.name] = input.checked;
    else if (kind === "list") body[input.name] = value.split(/[\s,]+/).filter((v) => v);
    else if (kind === "secret") body[input.name] = value || randomSecret();
    else if (value) body[input.name] = value;
  }
  return body;
}

async function bind() {
  const platform = $("bind-platform").value;
  const bound = await api("PUT", `/api/v1/bots/${openBot.id}/platforms/${platform}`, bindingBody());
  for (const input of $("bind-form").querySelectorAll("fieldset input, fieldset textarea")) {
    if (input.type === "checkbox") input.checked = false;
    else input.value = "";
  }
  const told = bound.webhook_registered ? `${PLATFORMS[platform]} was given this URL.`
    : platform === "web_chat" ? "Send visitors to this page:"
      : `Give ${PLATFORMS[platform]} this webhook URL:`;
  $("bound-text").textContent = `Bound to ${PLATFORMS[platform]}. ${told}`;
  $("bound-url").textContent = bound.webhook_url;
  $("bound").hidden = false;
  await Promise.all([loadBindings(openBot.id), loadSummary(openBot.id)]);
}

async function unbind(platform) {
  if (!confirm(`Unbind ${openBot.name} from ${PLATFORMS[platform]}? Its credentials are deleted.`)) return;
  await api("DELETE", `/api/v1/bots/${openBot.id}/platforms/${platform}`);
  $("bound").hidden = true;
  await loadBindings(openBot.id);
  notice(`Unbound from ${PLATFORMS[platform]}.`);
}

// ---------------------------------------------------------------- API keys

let keysCursor = null;

function keyItem(k) {
  const state = k.revoked_at ? `revoked ${when(k.revoked_at)}`
    : k.expires_at ? `expires ${when(k.expires_at)}` : "never expires";
  const used = k.last_used_at ? `last used ${when(k.last_used_at)}` : "never used";
  const li = item(`${k.name} (${k.role})`, `${k.prefix}…, ${state}, ${used}`);
  li.dataset.key = k.id;
  if (k.revoked_at) li.classList.add("revoked");
  else li.append(button("Revoke", () => revoke(k), "admin", "danger"));
  return li;
}

async function loadKeys(more = false) {
  const cursor = more && keysCursor ? `&cursor=${encodeURIComponent(keysCursor)}` : "";
  const page = await api("GET", `/api/v1/api-keys?limit=50${cursor}`);
  keysCursor = page.next_cursor;
  const rows = page.items.map(keyItem);
  if (more) $("key-list").append(...rows);
  else $("key-list").replaceChildren(...rows);
  $("more-keys").hidden = !keysCursor;
}

async function createKey() {
  const expires = $("key-expires").value;
  const body = { name: $("key-name").value.trim(), role: $("key-role").value };
  if (expires) body.expires_at = new Date(`${expires}T23:59:59`).toISOString();
  const issued = await api("POST", "/api/v1/api-keys", body);
  $("key-form").reset();
  $("new-key-value").textContent = issued.key;
  $("new-key").hidden = false;
  await loadKeys();
}

async function revoke(k) {
  const yours = me?.key_id === k.id ? " It is the key this console is signed in with." : "";
  if (!confirm(`Revoke the key "${k.name}"? Whatever uses it is refused from now on.${yours}`)) return;
  await api("DELETE", `/api/v1/api-keys/${k.id}`);
  await loadKeys();
  notice(`Revoked "${k.name}".`);
}

// ---------------------------------------------------------------- live events

/// The events socket: the last event seen (to resume with `?after=`), the topics wanted, the
/// reconnection attempt (for the backoff).
const live = { socket: null, ready: false, lastId: null, topics: new Set(["handoffs"]), attempt: 0, timer: null };

function setLive(state, detail = "") {
  const labels = { live: "live", connecting: "connecting…", offline: "offline" };
  $("live").textContent = labels[state];
  $("live").className = `live is-${state}`;
  $("live").title = detail;
}

function eventsUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const after = live.lastId ? `?after=${encodeURIComponent(live.lastId)}` : "";
  return `${scheme}//${location.host}/api/v1/events${after}`;
}

function connectEvents() {
  clearTimeout(live.timer);
  setLive("connecting");
  const socket = new WebSocket(eventsUrl());
  // Resumed with `after`, the socket replays what was missed; else what is shown is re-read.
  const connection = { socket, resumed: live.lastId !== null, subscribed: false };
  live.socket = socket;
  live.ready = false;
  socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "auth", key: sessionStorage.getItem(KEY) })));
  socket.addEventListener("message", (message) => {
    if (socket !== live.socket) return;
    let frame;
    try { frame = JSON.parse(message.data); } catch { return; }
    onFrame(connection, frame);
  });
  socket.addEventListener("close", (event) => {
    if (socket === live.socket) onClosed(event);
  });
}

function onFrame(connection, frame) {
  switch (frame.type) {
    case "ready":
      live.ready = true;
      live.attempt = 0;
      setLive("live");
      connection.socket.send(JSON.stringify({ type: "subscribe", topics: [...live.topics] }));
      break;
    case "subscribed":
      if (!connection.resumed && !connection.subscribed) stale();
      connection.subscribed = true;
      break;
    case "event":
      onEvent(frame.event);
      break;
    case "replayed":
      if (!frame.complete) stale();
      break;
    case "error":
      if (frame.code !== "unauthenticated") {
        setLive("live", frame.detail);
        stale();
      }
      break;
  }
}

function onClosed(event) {
  live.socket = null;
  live.ready = false;
  if (event.code === CLOSE_UNAUTHENTICATED) return signOut("The events stream refused the key: sign in again.");
  setLive("offline", `closed (${event.code}); reconnecting`);
  // Exponential backoff with jitter, capped at 30 s.
  const delay = Math.min(30000, 1000 * 2 ** live.attempt) * (0.5 + Math.random() / 2);
  live.attempt += 1;
  live.timer = setTimeout(connectEvents, delay);
}

/// Follows `topics` too (up to the socket's limit), now if connected, else on connecting.
function follow(topics) {
  const fresh = topics.filter((t) => !live.topics.has(t)).slice(0, MAX_TOPICS - live.topics.size);
  if (fresh.length === 0) return;
  for (const topic of fresh) live.topics.add(topic);
  if (live.ready) live.socket.send(JSON.stringify({ type: "subscribe", topics: fresh }));
}

function onEvent(event) {
  live.lastId = event.id;
  const { conversation_id: conversation, bot_id: bot } = event.data;
  if (event.type in ACTIVITY && current.id !== conversation) {
    if (ACTIVITY[event.type]) activity.set(conversation, ACTIVITY[event.type]);
    else if (activity.get(conversation) === ACTIVITY["reply.started"]) activity.delete(conversation);
  }
  if (current.name === "conversation" && current.id === conversation) {
    if (event.type === "reply.started") showTyping(true);
    if (["message.sent", "message.failed", "conversation.ended", "conversation.handoff"].includes(event.type)) showTyping(false);
    stale();
  } else if (current.name === "bot" && current.id === bot) {
    stale();
  } else if (current.name === "") {
    stale();
  }
}

/// Re-reads what the current view shows, once for a burst of calls.
const reread = { timer: null, running: false, again: false };

function stale() {
  if (reread.running) {
    reread.again = true;
  } else if (!reread.timer) {
    reread.timer = setTimeout(rereadNow, REREAD_AFTER_MS);
  }
}

async function rereadNow() {
  reread.timer = null;
  reread.running = true;
  const { name, id } = current;
  try {
    if (name === "conversation") await loadThread(id);
    else if (name === "bot") await loadSummary(id);
    else if (name === "") showConversations(await readConversations());
  } catch (error) {
    notice(error.message, true);
  } finally {
    reread.running = false;
    if (reread.again) {
      reread.again = false;
      stale();
    }
  }
}

// ---------------------------------------------------------------- signing in and out

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

async function show() {
  me = await api("GET", "/api/v1/me");
  role = me.role;
  $("who").textContent = `${me.name || "bootstrap key"} (${me.role})`;
  current = { name: null, id: null };
  await route();
  $("sign-in").hidden = true;
  for (const id of ["signed-in", "sign-out", "nav", "live"]) $(id).hidden = false;
  connectEvents();
}

/// Forgets the key and everything shown with it, and asks for a key again.
function signOut(message = "") {
  const socket = live.socket;
  Object.assign(live, { socket: null, ready: false, lastId: null, topics: new Set(["handoffs"]), attempt: 0 });
  clearTimeout(live.timer);
  socket?.close();
  sessionStorage.removeItem(KEY);
  activity.clear();
  role = "viewer";
  me = null;
  open = null;
  openBot = null;
  for (const id of ["signed-in", "sign-out", "nav", "live", "issued", "new-key"]) $(id).hidden = true;
  $("who").textContent = "";
  $("sign-in").hidden = false;
  notice(message, Boolean(message));
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
    signOut(error.message);
  }
}

// ---------------------------------------------------------------- wiring

$("sign-in").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("key").value.trim());
  $("key").value = "";
  notice("");
  start();
});
$("sign-out").addEventListener("click", () => signOut());
window.addEventListener("popstate", () => {
  if (sessionStorage.getItem(KEY) && me) route();
});

onSubmit($("reply"), async () => {
  await act("messages", { text: $("reply-text").value });
  $("reply-text").value = "";
});
$("hand-off").addEventListener("click", guarded(() => act("handoff")));
$("release").addEventListener("click", guarded(() => act("release", releaseBody())));
$("end").addEventListener("click", guarded(async () => {
  if (confirm("End this conversation? Its next message starts a new one.")) await act("end");
}));

onSubmit($("new-bot"), async () => {
  const bot = await api("POST", "/api/v1/bots", { name: $("new-bot-name").value, system_prompt: "" });
  $("new-bot-name").value = "";
  await go(`#/bot/${bot.id}`);
});
onSubmit($("bot-form"), async () => {
  await api("PATCH", `/api/v1/bots/${openBot.id}`, botChanges());
  await loadBot(openBot.id);
  notice("Saved.");
});
$("pause").addEventListener("click", guarded(() => botAction("pause")));
$("resume").addEventListener("click", guarded(() => botAction("resume")));
$("bind-platform").addEventListener("change", showPlatformFields);
onSubmit($("bind-form"), bind);
$("bound-copy").addEventListener("click", guarded(() => copy($("bound-url").textContent)));
showPlatformFields();

onSubmit($("key-form"), createKey);
$("new-key-copy").addEventListener("click", guarded(() => copy($("new-key-value").textContent)));
$("new-key-done").addEventListener("click", () => {
  $("new-key").hidden = true;
  $("new-key-value").textContent = "";
});
$("issued-copy").addEventListener("click", guarded(() => copy($("issued-key").textContent)));
$("issued-done").addEventListener("click", () => {
  $("issued").hidden = true;
  $("issued-key").textContent = "";
});
$("more-keys").addEventListener("click", guarded(() => loadKeys(true)));

start();
