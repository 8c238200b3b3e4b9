// The admin console: first setup, sign-in, the conversations waiting for a person and the
// latest ones, a conversation's thread with the operator's reply box and its handoff, release
// and end buttons, and the bots. Write controls show only to operators and admins (the API
// refuses them to viewers anyway). Plain DOM, nothing fetched from elsewhere; the key lives in
// sessionStorage only.
const KEY = "switchboard.key";
const RANK = { viewer: 0, operator: 1, admin: 2 };
const $ = (id) => document.getElementById(id);
let open = null;

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
  $("reply").hidden = c.status !== "active" || !$("reply").dataset.allowed;
  $("thread").hidden = false;
  $("lists").hidden = true;
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
  $("bots").replaceChildren(...bots.items.map((b) => item(b.name, `${b.status}, ${b.model || "default model"}`)));
  $("thread").hidden = true;
  $("lists").hidden = false;
}

async function show() {
  const me = await api("GET", "/api/v1/me");
  $("who").textContent = `${me.name || "bootstrap key"} (${me.role})`;
  const writes = RANK[me.role] >= RANK.operator;
  for (const element of document.querySelectorAll("[data-write]")) {
    element.hidden = !writes;
    if (writes) element.dataset.allowed = "yes";
  }
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
$("close-thread").addEventListener("click", guarded(showLists));
$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  location.reload();
});

start();
