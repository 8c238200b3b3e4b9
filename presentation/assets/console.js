// The admin console's first screens: first setup, sign-in, the conversations waiting for a
// person (with release) and the bots. Plain DOM, nothing fetched from elsewhere; the key lives
// in sessionStorage only.
const KEY = "switchboard.key";
const $ = (id) => document.getElementById(id);

function notice(text, error = false) {
  $("notice").textContent = text;
  $("notice").className = error ? "error" : "";
}

function item(label, detail, action) {
  const li = document.createElement("li");
  const text = document.createElement("span");
  text.textContent = label;
  const small = document.createElement("span");
  small.className = "muted";
  small.textContent = detail;
  text.append(" ", small);
  li.append(text);
  if (action) li.append(action);
  return li;
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

function releaseButton(conversation) {
  const button = document.createElement("button");
  button.textContent = "Give back to the bot";
  button.addEventListener("click", async () => {
    try {
      await api("POST", `/api/v1/conversations/${conversation.id}/release`, { answer_pending: true });
      await show();
    } catch (error) {
      notice(error.message, true);
    }
  });
  return button;
}

async function show() {
  const [waiting, bots] = await Promise.all([
    api("GET", "/api/v1/conversations?mode=human"),
    api("GET", "/api/v1/bots"),
  ]);
  $("waiting").replaceChildren(...waiting.items.map((c) =>
    item(`${c.platform} chat ${c.external_chat_id}`, `since ${c.handed_off_at}${c.assigned_to ? `, ${c.assigned_to}` : ""}`, releaseButton(c))));
  if (waiting.items.length === 0) $("waiting").replaceChildren(item("Nobody is waiting.", ""));
  $("bots").replaceChildren(...bots.items.map((b) => item(b.name, `${b.status}, ${b.model || "default model"}`)));
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

$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  location.reload();
});

start();
