// A tiny MCP server over stdio for the security tests. argv[2] picks a misbehaviour:
//   normal       answers initialize, ping, tools/list (echo, hang, flood) and tools/call
//   no-init      never answers initialize (a deploy that waits on it)
// Tools: echo answers; hang never answers; flood answers with a FLOOD_MB (default 30) MiB result
// on one line; flood-raw prints FLOOD_MB MiB on stdout with no newline at all and never answers.
import { createInterface } from "node:readline";

const mode = process.argv[2] ?? "normal";
const send = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
const tools = ["echo", "hang", "flood", "flood-raw"].map((name) => ({ name, inputSchema: { type: "object" } }));

createInterface({ input: process.stdin }).on("line", (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  if (msg.id === undefined || typeof msg.method !== "string") return;
  const reply = (result) => send({ jsonrpc: "2.0", id: msg.id, result });
  switch (msg.method) {
    case "initialize":
      if (mode === "no-init") return;
      return reply({
        protocolVersion: msg.params?.protocolVersion ?? "2025-06-18",
        capabilities: { tools: {} },
        serverInfo: { name: "fixture", version: "1.0.0" },
      });
    case "ping":
      return reply({});
    case "tools/list":
      return reply({ tools });
    case "tools/call": {
      const name = msg.params?.name;
      if (name === "hang") return;
      const mb = Number(process.env.FLOOD_MB ?? 30);
      const chunk = "x".repeat(1024 * 1024);
      if (name === "flood") {
        process.stdout.write(
          `{"jsonrpc":"2.0","id":${JSON.stringify(msg.id)},"result":{"content":[{"type":"text","text":"`,
        );
        for (let i = 0; i < mb; i++) process.stdout.write(chunk);
        process.stdout.write(`"}]}}\n`);
        return;
      }
      if (name === "flood-raw") {
        for (let i = 0; i < mb; i++) process.stdout.write(chunk);
        return;
      }
      return reply({ content: [{ type: "text", text: `${name}: ${JSON.stringify(msg.params?.arguments ?? {})}` }] });
    }
    default:
      send({ jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "method not found" } });
  }
});
