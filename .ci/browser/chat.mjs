// Opens the web chat page in headless Chromium, sends a message and waits for the model's
// (echo) reply; then reloads and expects the conversation to still be there, opened by the
// visitor token the page kept.
// Usage: node chat.mjs URL   (CHROMIUM overrides /usr/bin/chromium)
import { chromium } from "playwright-core";

const url = process.argv[2];
if (!url) {
  console.error("usage: node chat.mjs URL");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const failures = [];
try {
  const page = await browser.newPage();
  // Failed loads are judged by their responses below (the browser's own /favicon.ico may 404).
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      failures.push(`console: ${message.text()}`);
    }
  });
  page.on("response", (response) => {
    const path = new URL(response.url()).pathname;
    if (response.status() >= 400 && path !== "/favicon.ico") {
      failures.push(`${response.status()} for ${response.url()}`);
    }
  });
  page.on("pageerror", (error) => failures.push(`page error: ${error.message}`));
  // Nothing but the server itself may be loaded (the CSP would block it anyway).
  const origin = new URL(url).origin;
  page.on("request", (request) => {
    if (!request.url().startsWith(origin) && !request.url().startsWith(origin.replace("http", "ws"))) {
      failures.push(`external request: ${request.url()}`);
    }
  });
  await page.goto(url);
  await page.getByText("Connected").waitFor({ timeout: 10000 });
  await page.getByLabel("Your message").fill("hello from the browser");
  await page.getByRole("button", { name: "Send" }).click();
  await page.locator(".message--inbound", { hasText: "hello from the browser" }).waitFor({ timeout: 10000 });
  const reply = page.locator(".message--outbound", { hasText: "(echo) you said: hello from the browser" });
  await reply.waitFor({ timeout: 20000 });
  await page.reload();
  await page.locator(".message--outbound", { hasText: "(echo) you said: hello from the browser" }).waitFor({ timeout: 10000 });
  const shown = await page.locator(".message").count();
  if (shown !== 2) failures.push(`after a reload the history shows ${shown} messages, not 2`);
  // The history came back through the signed visitor token the page keeps, not a bare id.
  const kept = await page.evaluate(() => Object.keys(window.localStorage)
    .map((key) => [key, window.localStorage.getItem(key)]));
  const tokens = kept.filter(([key, value]) => key.startsWith("switchboard.visitor-token.") && value.startsWith("v1."));
  if (tokens.length !== 1) failures.push(`the page keeps no visitor token: ${JSON.stringify(kept)}`);
} catch (error) {
  failures.push(String(error));
} finally {
  await browser.close();
}
if (failures.length) {
  console.error("browser-test: " + failures.join("\nbrowser-test: "));
  process.exit(1);
}
console.error("browser-test: the page sent a message, showed the reply and kept it across a reload");
