// Drives the admin console in headless Chromium from a fresh server's setup URL: the first
// admin key is made and shown once, kept in sessionStorage only; the conversation the script
// hands off through the API waits in the inbox and is given back from its thread, then taken
// over, answered by the operator and given back again; a viewer sees no control that writes.
// Usage: node console.mjs SETUP_URL   (CHROMIUM overrides /usr/bin/chromium)
import { chromium } from "playwright-core";

const url = process.argv[2];
if (!url || !url.includes("#setup=")) {
  console.error("usage: node console.mjs http://host:port/admin#setup=TOKEN");
  process.exit(2);
}
const origin = new URL(url).origin;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const failures = [];

/// Calls the admin API with `key` from this script, as an operator's other tools would.
async function api(key, method, path, body) {
  const response = await fetch(`${origin}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

try {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (error) => failures.push(`page error: ${error.message}`));
  page.on("request", (request) => {
    if (!request.url().startsWith(origin)) failures.push(`external request: ${request.url()}`);
  });
  await page.goto(url);
  const shown = page.locator("#issued-key");
  await shown.waitFor({ timeout: 10000 });
  const key = (await shown.textContent()).trim();
  if (!key.startsWith("sb_")) failures.push(`the key shown is not a key: ${key}`);
  if (page.url().includes("setup=")) failures.push(`the token stays in the address bar: ${page.url()}`);
  const kept = await page.evaluate(() => sessionStorage.getItem("switchboard.key"));
  if (kept !== key) failures.push("the key is not kept in sessionStorage");
  if ((await context.cookies()).length) failures.push("the console set a cookie");

  const bot = await api(key, "POST", "/api/v1/bots", { name: "Console bot", system_prompt: "be brief" });
  await api(key, "PUT", `/api/v1/bots/${bot.id}/platforms/web_chat`, {});
  const chat = await api(key, "POST", `/api/v1/bots/${bot.id}/chat`, { user_id: "visitor-1", text: "hello" });
  await api(key, "POST", `/api/v1/conversations/${chat.conversation_id}/handoff`);

  await page.reload();
  await page.getByText("Console bot").waitFor({ timeout: 10000 });
  // The waiting conversation, given back from the list.
  const release = page.locator("#waiting").getByRole("button", { name: "Open" });
  await release.waitFor({ timeout: 10000 });
  await release.click();
  await page.getByRole("button", { name: "Give back to the bot" }).click();
  await page.getByText("with the bot, active").waitFor({ timeout: 10000 });
  // Taken over again from its thread, answered by the operator, and given back.
  await page.getByRole("button", { name: "Take over" }).click();
  await page.getByText("with a person, active").waitFor({ timeout: 10000 });
  await page.getByLabel("Reply as the operator").fill("A person here.");
  await page.getByRole("button", { name: "Send" }).click();
  await page.locator("#messages li.outbound", { hasText: "A person here." }).waitFor({ timeout: 10000 });
  const taken = await api(key, "GET", `/api/v1/conversations/${chat.conversation_id}`);
  if (taken.mode !== "human" || taken.assigned_to !== "first admin") {
    failures.push(`taken over from the console, but ${JSON.stringify(taken)}`);
  }
  await page.getByRole("button", { name: "Give back to the bot" }).click();
  await page.getByText("with the bot, active").waitFor({ timeout: 10000 });
  await page.getByRole("button", { name: "Back to the lists" }).click();
  await page.getByText("Nobody is waiting.").waitFor({ timeout: 10000 });

  // A viewer sees the thread but no control that writes.
  const viewer = await api(key, "POST", "/api/v1/api-keys", { name: "watcher", role: "viewer" });
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("API key").fill(viewer.key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("watcher (viewer)").waitFor({ timeout: 10000 });
  await page.locator("#latest").getByRole("button", { name: "Open" }).first().click();
  await page.locator("#messages li").first().waitFor({ timeout: 10000 });
  for (const name of ["Send", "Take over", "Give back to the bot", "End the conversation"]) {
    if (await page.getByRole("button", { name }).isVisible()) failures.push(`a viewer sees "${name}"`);
  }
  await page.locator("#thread button.back").click();
  await page.locator("#bots").getByRole("button", { name: "Open" }).first().click();
  await page.locator("#bindings li").first().waitFor({ timeout: 10000 });
  for (const name of ["Save", "Pause", "Resume", "Create"]) {
    if (await page.getByRole("button", { name, exact: true }).isVisible()) failures.push(`a viewer sees "${name}"`);
  }

  // Signing in again with the admin key works.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("first admin (admin)").waitFor({ timeout: 10000 });

  // Bots: the bound one shows its webhook URL; a new one is created, edited and paused.
  await page.locator("#bots li", { hasText: "Console bot" }).getByRole("button", { name: "Open" }).click();
  await page.locator("#bindings li", { hasText: `/chat/${bot.id}` }).waitFor({ timeout: 10000 });
  await page.locator("#bot button.back").click();
  await page.getByLabel("New bot").fill("Second bot");
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByText("Second bot (active)").waitFor({ timeout: 10000 });
  await page.getByLabel("Model (empty: the server's default)").fill("gpt-test");
  await page.getByLabel("Handoff keywords, comma-separated").fill("agent, Real Person");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("Saved.").waitFor({ timeout: 10000 });
  await page.getByRole("button", { name: "Pause" }).click();
  await page.getByText("Second bot (paused)").waitFor({ timeout: 10000 });
  const bots = await api(key, "GET", "/api/v1/bots");
  const second = bots.items.find((b) => b.name === "Second bot");
  if (!second || second.model !== "gpt-test" || second.status !== "paused"
      || JSON.stringify(second.handoff_keywords) !== JSON.stringify(["agent", "real person"])) {
    failures.push(`the edited bot is ${JSON.stringify(second)}`);
  }
} catch (error) {
  failures.push(String(error));
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(`console.mjs: ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log("console.mjs: set up; released, took over, answered and released a conversation; a viewer saw no write control; created, edited and paused a bot");
