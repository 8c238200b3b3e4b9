// Drives the admin console in headless Chromium from a fresh server's setup URL (the issue's
// "done when" flow): the first admin key is made and shown once, kept in sessionStorage only;
// a bot is created and bound to the web chat from the console's forms (a bad Telegram token is
// refused next to its form; a good one is bound, then unbound); a visitor in a second browser
// context writes on the chat page and the conversation appears in the inbox live, without a
// reload; the operator takes it over, sees the visitor's next message live, answers it (the
// visitor sees the answer, and no model reply), gives it back, and the bot answers the
// visitor again. Then API keys are created (shown once, copied) and revoked on their page; a
// viewer, on a phone-sized screen, sees no control that writes; an operator sees the
// conversation's but not the bots'. Finally a second bot is created, edited and paused.
// With SCREENSHOTS_DIR set, the inbox and the bot page are saved there as
// console-inbox.png and console-bot.png (1280x800).
// Usage: node console.mjs SETUP_URL   (CHROMIUM overrides /usr/bin/chromium)
import { chromium } from "playwright-core";
import path from "node:path";

const url = process.argv[2];
if (!url || !url.includes("#setup=")) {
  console.error("usage: node console.mjs http://host:port/admin#setup=TOKEN");
  process.exit(2);
}
const origin = new URL(url).origin;
const shots = process.env.SCREENSHOTS_DIR;
const WAIT = { timeout: 10000 };
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const ECHO = "(echo) you said:";
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const failures = [];
let stage = "starting";
/// The refusal a step provokes on purpose ({status, method, path ending}), not a failure.
let provoked = null;

/// Calls the admin API with `key` from this script, to check what the console did.
async function api(key, method, route, body) {
  const response = await fetch(`${origin}${route}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${route} answered ${response.status}: ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

/// A page in a fresh context (its own sessionStorage), failing the test on script errors,
/// requests to anywhere but the server, and error responses.
async function newPage(viewport = LAPTOP) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("pageerror", (error) => failures.push(`${stage}: page error: ${error.message}`));
  page.on("request", (request) => {
    const at = request.url();
    if (!at.startsWith(origin) && !at.startsWith(origin.replace("http", "ws"))) failures.push(`${stage}: external request: ${at}`);
  });
  page.on("response", (response) => {
    const { pathname } = new URL(response.url());
    const meant = provoked && provoked.status === response.status()
      && provoked.method === response.request().method() && pathname.endsWith(provoked.path);
    if (response.status() >= 400 && pathname !== "/favicon.ico" && !meant) {
      failures.push(`${stage}: ${response.status()} for ${response.request().method()} ${response.url()}`);
    }
  });
  page.on("dialog", (dialog) => dialog.accept());
  return { context, page };
}

/// Waits for the console's events socket to say it is live.
async function waitLive(page) {
  try {
    await page.locator("#live.is-live").waitFor(WAIT);
  } catch {
    const live = page.locator("#live");
    throw new Error(`the events socket never became live: "${await live.textContent()}" (${await live.getAttribute("title")})`);
  }
}

async function signIn(page, key, who) {
  await page.goto(`${origin}/admin`);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText(who).waitFor(WAIT);
  await waitLive(page);
}

/// The texts of the visible controls that could change something (buttons but Copy and
/// Sign out, and every field).
async function writeControls(page) {
  return page.evaluate(() => [...document.querySelectorAll("button, input, textarea, select")]
    .filter((e) => e.checkVisibility() && !["Copy", "Sign out"].includes(e.textContent.trim()))
    .map((e) => e.textContent.trim() || e.id || e.tagName));
}

/// The web chat visitor's row in the list `list` (the other conversation is the API's `api:…`).
const visitorRow = (page, list) => page.locator(`${list} li`, { hasText: "Web chat", hasNotText: "api:" });

async function screenshot(page, name) {
  if (!shots) return;
  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  await page.screenshot({ path: path.join(shots, name) });
}

try {
  stage = "setup";
  const { context, page } = await newPage();
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  await page.goto(url);
  const shown = page.locator("#issued-key");
  await shown.waitFor(WAIT);
  const key = (await shown.textContent()).trim();
  if (!key.startsWith("sb_")) failures.push(`the key shown is not a key: ${key}`);
  if (page.url().includes("setup=")) failures.push(`the token stays in the address bar: ${page.url()}`);
  const kept = await page.evaluate(() => sessionStorage.getItem("switchboard.key"));
  if (kept !== key) failures.push("the key is not kept in sessionStorage");
  if ((await context.cookies()).length) failures.push("the console set a cookie");
  await page.getByRole("button", { name: "I have kept it" }).click();
  await waitLive(page);

  stage = "create a bot";
  await page.getByLabel("New bot").fill("Support bot");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await page.getByRole("heading", { name: "Support bot (active)" }).waitFor(WAIT);
  const botId = new URL(page.url()).hash.replace("#/bot/", "");

  stage = "bind";
  const bindForm = page.locator("#bind-form");
  await page.getByLabel("Platform").selectOption("telegram");
  await page.getByLabel("Bot token from @BotFather").fill("not-a-token");
  provoked = { status: 422, method: "PUT", path: "/platforms/telegram" };
  await bindForm.getByRole("button", { name: "Bind" }).click();
  await bindForm.locator(".form-error li", { hasText: "Bot token from @BotFather:" }).waitFor(WAIT);
  if (await page.getByLabel("Bot token from @BotFather").getAttribute("aria-invalid") !== "true") {
    failures.push("the refused Telegram token is not marked invalid");
  }
  provoked = null;
  await page.getByLabel("Bot token from @BotFather").fill(`123456789:${"A".repeat(35)}`);
  await bindForm.getByRole("button", { name: "Bind" }).click();
  await page.locator("#bindings li[data-platform=telegram]").waitFor(WAIT);
  if (await bindForm.locator(".form-error").textContent()) failures.push("the error stays after a good binding");
  await page.locator("#bindings li[data-platform=telegram]").getByRole("button", { name: "Unbind" }).click();
  await page.locator("#bindings li[data-platform=telegram]").waitFor({ state: "detached", ...WAIT });
  await page.getByLabel("Platform").selectOption("web_chat");
  await bindForm.getByRole("button", { name: "Bind" }).click();
  await page.locator("#bound-url", { hasText: `/chat/${botId}` }).waitFor(WAIT);
  const chatUrl = (await page.locator("#bound-url").textContent()).trim();
  await page.locator("#bindings li[data-platform=web_chat]", { hasText: chatUrl }).waitFor(WAIT);
  await page.locator("#bound").getByRole("button", { name: "Copy" }).click();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  if (copied !== chatUrl) failures.push(`Copy put "${copied}" on the clipboard, not ${chatUrl}`);
  const bindings = await api(key, "GET", `/api/v1/bots/${botId}/platforms`);
  if (bindings.items.map((b) => b.platform).join() !== "web_chat") failures.push(`bound to ${JSON.stringify(bindings.items)}`);
  // Another visitor, through the API, so that the inbox has more than one conversation.
  await api(key, "POST", `/api/v1/bots/${botId}/chat`, { user_id: "visitor-2", text: "What are your opening hours?" });

  stage = "a visitor's message, live in the inbox";
  await page.getByRole("link", { name: "Inbox" }).click();
  await page.locator("#latest li", { hasText: "api:visitor-2" }).waitFor(WAIT);
  await page.evaluate(() => { window.notReloaded = true; });
  const visitor = await newPage();
  const chat = visitor.page;
  await chat.goto(chatUrl);
  await chat.getByText("Connected").waitFor(WAIT);
  const say = async (text) => {
    await chat.getByLabel("Your message").fill(text);
    await chat.getByRole("button", { name: "Send" }).click();
  };
  await say("Hello, I need help with my order");
  await chat.locator(".message--outbound", { hasText: `${ECHO} Hello, I need help` }).waitFor(WAIT);
  const row = visitorRow(page, "#latest");
  await row.waitFor(WAIT);
  if (!(await page.evaluate(() => window.notReloaded))) failures.push("the inbox was reloaded, not updated live");

  stage = "the thread";
  await page.evaluate(() => {
    window.typingShown = false;
    new MutationObserver(() => { if (!document.getElementById("typing").hidden) window.typingShown = true; })
      .observe(document.getElementById("typing"), { attributes: true });
  });
  await row.getByRole("link").click();
  const messages = page.locator("#messages");
  await messages.locator("li.inbound", { hasText: "Hello, I need help" }).locator(".status", { hasText: "received" }).waitFor(WAIT);
  await messages.locator("li.outbound", { hasText: ECHO }).locator(".status", { hasText: "sent" }).waitFor(WAIT);

  stage = "take over";
  await page.getByRole("button", { name: "Take over" }).click();
  await page.getByText("with a person, active").waitFor(WAIT);
  await say("Can a person look at order 1234?");
  await messages.locator("li.inbound", { hasText: "order 1234" }).waitFor(WAIT);
  await page.getByLabel("Reply as the operator").fill("Yes, I am looking at order 1234 now.");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await messages.locator("li.outbound.sent", { hasText: "looking at order 1234" }).waitFor(WAIT);
  await chat.locator(".message--outbound", { hasText: "looking at order 1234" }).waitFor(WAIT);
  await page.waitForTimeout(1500);
  const echoed = () => chat.locator(".message--outbound", { hasText: `${ECHO} Can a person` }).count();
  if (await echoed()) failures.push("the model answered while the conversation was handed off");
  const conversationId = new URL(page.url()).hash.replace("#/conversation/", "");
  const taken = await api(key, "GET", `/api/v1/conversations/${conversationId}`);
  if (taken.mode !== "human" || taken.assigned_to !== "first admin") failures.push(`taken over, but ${JSON.stringify(taken)}`);

  stage = "the inbox with a waiting conversation";
  await page.getByRole("link", { name: "Back to the lists" }).click();
  await visitorRow(page, "#waiting").waitFor(WAIT);
  await screenshot(page, "console-inbox.png");
  await visitorRow(page, "#waiting").getByRole("link").click();

  stage = "give back";
  await page.getByRole("button", { name: "Give back to the bot" }).click();
  await page.getByText("with the bot, active").waitFor(WAIT);
  await say("Thanks!");
  await chat.locator(".message--outbound", { hasText: `${ECHO} Thanks!` }).waitFor(WAIT);
  await messages.locator("li.outbound", { hasText: `${ECHO} Thanks!` }).waitFor(WAIT);
  if (await echoed()) failures.push("given back, the bot answered the message the operator had answered");
  if (!(await page.evaluate(() => window.typingShown))) failures.push("the thread never showed the bot typing");
  if (!(await page.evaluate(() => window.notReloaded))) failures.push("the console reloaded during the conversation");
  await visitor.context.close();

  stage = "the bot page";
  await page.getByRole("link", { name: "Back to the lists" }).click();
  await page.locator("#bots").getByRole("link", { name: "Support bot" }).click();
  await page.locator("#bot-summary", { hasText: "2 conversations" }).waitFor(WAIT);
  await page.locator("#bot-prompt").fill("You answer questions about orders. Be brief and kind.");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("Saved.").waitFor(WAIT);
  await screenshot(page, "console-bot.png");

  stage = "API keys";
  await page.getByRole("link", { name: "API keys" }).click();
  await page.getByLabel("Key name").fill("watcher");
  await page.getByLabel("Role").selectOption("viewer");
  await page.getByRole("button", { name: "Create key" }).click();
  await page.getByText("Shown once:").waitFor(WAIT);
  const viewerKey = (await page.locator("#new-key-value").textContent()).trim();
  if (!viewerKey.startsWith("sb_")) failures.push(`the new key shown is not a key: ${viewerKey}`);
  await page.locator("#new-key").getByRole("button", { name: "Copy" }).click();
  if (await page.evaluate(() => navigator.clipboard.readText()) !== viewerKey) failures.push("Copy did not copy the new key");
  await page.locator("#key-list li", { hasText: "watcher (viewer)" }).waitFor(WAIT);
  await page.getByRole("button", { name: "Done" }).click();
  await page.getByLabel("Key name").fill("desk");
  await page.getByLabel("Role").selectOption("operator");
  await page.getByRole("button", { name: "Create key" }).click();
  await page.getByText("Shown once:").waitFor(WAIT);
  const operatorKey = (await page.locator("#new-key-value").textContent()).trim();
  await page.getByLabel("Key name").fill("temporary");
  await page.getByLabel("Expires (empty: never)").fill("2099-12-31");
  await page.getByRole("button", { name: "Create key" }).click();
  const temporary = page.locator("#key-list li", { hasText: "temporary (viewer)" });
  await temporary.getByRole("button", { name: "Revoke" }).click();
  await temporary.getByText("revoked").waitFor(WAIT);
  const keys = await api(key, "GET", "/api/v1/api-keys");
  const revoked = keys.items.find((k) => k.name === "temporary");
  if (!revoked?.revoked_at || !revoked.expires_at?.startsWith("2099-12-31")) failures.push(`the revoked key is ${JSON.stringify(revoked)}`);

  stage = "a viewer on a phone";
  const viewer = (await newPage(PHONE)).page;
  await signIn(viewer, viewerKey, "watcher (viewer)");
  const wide = () => viewer.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  await visitorRow(viewer, "#latest").waitFor(WAIT);
  if (await wide()) failures.push("the inbox is wider than a phone");
  let seen = await writeControls(viewer);
  if (seen.length) failures.push(`a viewer sees, in the inbox: ${seen.join(", ")}`);
  if (await viewer.getByRole("link", { name: "API keys" }).isVisible()) failures.push("a viewer sees the API keys link");
  await visitorRow(viewer, "#latest").getByRole("link").click();
  await viewer.locator("#messages li", { hasText: "Thanks!" }).first().waitFor(WAIT);
  seen = await writeControls(viewer);
  if (seen.length) failures.push(`a viewer sees, in a thread: ${seen.join(", ")}`);
  if (await wide()) failures.push("the thread is wider than a phone");
  await viewer.getByRole("link", { name: "Back to the lists" }).click();
  await viewer.locator("#bots").getByRole("link", { name: "Support bot" }).click();
  await viewer.locator("#bindings li[data-platform=web_chat]").waitFor(WAIT);
  seen = await writeControls(viewer);
  if (seen.length) failures.push(`a viewer sees, on a bot: ${seen.join(", ")}`);
  if (await wide()) failures.push("the bot page is wider than a phone");
  await viewer.goto(`${origin}/admin#/keys`);
  await viewer.getByText("watcher (viewer)").waitFor(WAIT);
  await viewer.locator("#latest li").first().waitFor(WAIT);
  if (await viewer.locator("#key-form").isVisible()) failures.push("a viewer reaches the API keys page");
  seen = await writeControls(viewer);
  if (seen.length) failures.push(`a viewer sees, at #/keys: ${seen.join(", ")}`);

  stage = "an operator";
  const operator = (await newPage()).page;
  await signIn(operator, operatorKey, "desk (operator)");
  if (await operator.locator("#new-bot").isVisible()) failures.push("an operator sees the new bot form");
  await visitorRow(operator, "#latest").getByRole("link").click();
  await operator.getByRole("button", { name: "Take over" }).waitFor(WAIT);
  if (!(await operator.getByLabel("Reply as the operator").isVisible())) failures.push("an operator has no reply box");
  await operator.getByRole("link", { name: "Back to the lists" }).click();
  await operator.locator("#bots").getByRole("link", { name: "Support bot" }).click();
  await operator.locator("#bindings li[data-platform=web_chat]").waitFor(WAIT);
  seen = await writeControls(operator);
  if (seen.length) failures.push(`an operator sees, on a bot: ${seen.join(", ")}`);

  stage = "an admin on a phone";
  await page.setViewportSize(PHONE);
  for (const view of [`#/bot/${botId}`, "#/keys", `#/conversation/${conversationId}`, "#/"]) {
    await page.goto(`${origin}/admin${view}`);
    await page.locator("#live.is-live").waitFor(WAIT);
    await page.waitForTimeout(300);
    if (await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth)) {
      failures.push(`${view} is wider than a phone`);
    }
  }
  await page.setViewportSize(LAPTOP);

  stage = "a second bot";
  await page.getByRole("link", { name: "Inbox" }).click();
  await page.getByLabel("New bot").fill("Second bot");
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await page.getByText("Second bot (active)").waitFor(WAIT);
  await page.getByLabel("Model (empty: the server's default)").fill("gpt-test");
  await page.getByLabel("Handoff keywords, comma-separated").fill("agent, Real Person");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("Saved.").waitFor(WAIT);
  await page.getByRole("button", { name: "Pause" }).click();
  await page.getByText("Second bot (paused)").waitFor(WAIT);
  const bots = await api(key, "GET", "/api/v1/bots");
  const second = bots.items.find((b) => b.name === "Second bot");
  if (!second || second.model !== "gpt-test" || second.status !== "paused"
      || JSON.stringify(second.handoff_keywords) !== JSON.stringify(["agent", "real person"])) {
    failures.push(`the edited bot is ${JSON.stringify(second)}`);
  }

  stage = "sign out";
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("API key").waitFor(WAIT);
  if (await page.evaluate(() => sessionStorage.getItem("switchboard.key"))) failures.push("the key outlives signing out");
} catch (error) {
  failures.push(`${stage}: ${error}`);
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(`console.mjs: ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log("console.mjs: set up; created a bot and bound it from the console; a visitor's message came live to the inbox; "
  + "took it over, answered it (no model reply), gave it back and the bot answered; made, copied and revoked keys; "
  + "a viewer saw no write control, an operator no bot control; created, edited and paused a bot"
  + (shots ? `; screenshots in ${shots}` : ""));
