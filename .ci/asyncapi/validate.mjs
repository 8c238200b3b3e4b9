// Validates an AsyncAPI document read from standard input with the AsyncAPI parser; any
// diagnostic of severity error (0) or warning (1) fails, and every diagnostic is printed.
import { Parser } from "@asyncapi/parser";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const text = Buffer.concat(chunks).toString("utf8");

const { document, diagnostics } = await new Parser().parse(text);
for (const d of diagnostics) {
  console.error(`${["error", "warning", "info", "hint"][d.severity]} ${d.code}: ${d.message} at ${d.path.join(".")}`);
}
const serious = diagnostics.filter((d) => d.severity <= 1);
if (!document || serious.length > 0) {
  console.error(`asyncapi-check: ${serious.length} error(s) or warning(s)`);
  process.exit(1);
}
console.log(`asyncapi-check: AsyncAPI ${document.version()} valid, ${document.channels().length} channel(s), ${document.operations().length} operation(s)`);
