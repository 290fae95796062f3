/**
 * pnpm demo: the embedded default in one process. Registers the seed filesystem server, creates an
 * instance of it on the in-memory runtime, prints every status change, then deletes it.
 */
import { readFileSync } from "node:fs";
import { createFleet, memoryRuntime } from "@mcpfleet/core";

const seeds = new URL("../packages/core/test/fixtures/seeds/", import.meta.url);
const seed = (name: string) => JSON.parse(readFileSync(new URL(name, seeds), "utf8"));

const fleet = createFleet({ runtimes: { docker: memoryRuntime({ startDelayMs: 200 }) } });
fleet.subscribe((e) => {
  if (e.type === "MCPServerInstanceStatusChanged") {
    console.log(
      `${e.time}  ${e.data.name}: ${e.data.previous_status} -> ${e.data.status}${e.data.status_reason ? ` (${e.data.status_reason})` : ""}`,
    );
  } else console.log(`${e.time}  ${e.type} ${e.subject}`);
});
await fleet.start();

const server = await fleet.servers.register(seed("server-filesystem.json"));
const body = seed("instance-filesystem.json");
const inst = await fleet.instances.create({ ...body, server_spec_id: server.id });
const running = await fleet.instances.waitFor(inst.id, "running", { timeoutMs: 10_000 });
console.log(`instance ${running.name} is ${running.status} at ${running.endpoint} (generation ${running.generation})`);
await fleet.instances.delete(inst.id);
await fleet.instances.waitFor(inst.id, "deleted", { timeoutMs: 10_000 }).catch(() => undefined);
await fleet.close();
