import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type CustomSpec, FleetError, type ObservedInstance, type RuntimeBackend } from "@mcpfleet/core";
import { z } from "zod";

/** The spec type, `{ "type": "echo", "message": "hi" }`. Its defaults (`status`) reach the runtime. */
export const EchoSpec = z.object({
  type: z.literal("echo"),
  message: z.string().min(1),
  status: z.number().int().min(200).max(599).default(200),
});
type Echo = CustomSpec & z.infer<typeof EchoSpec>;

/** Serves each `echo` instance as an HTTP server in this process. */
export function echoRuntime(): RuntimeBackend {
  const servers = new Map<string, { server: Server; observed: ObservedInstance }>();
  const stop = async (id: string) => {
    const entry = servers.get(id);
    servers.delete(id);
    entry?.server.closeAllConnections();
    await new Promise((done) => (entry ? entry.server.close(done) : done(undefined)));
  };
  const runtime: RuntimeBackend = {
    specificationVersion: "v1",
    name: "echo",
    types: ["echo"], // the spec types it serves: createFleet checks its `runtimes` key against this
    async deploy({ instance, spec }, options) {
      if (options?.signal?.aborted) throw new FleetError("ABORTED", "deploy aborted");
      const current = servers.get(instance.id);
      if (current?.observed.specHash === instance.specHash) return current.observed; // same spec: no-op
      await stop(instance.id); // a new spec hash replaces
      const { message, status } = spec as Echo;
      const server = createServer((_req, res) => res.writeHead(status).end(message));
      await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
      const { port } = server.address() as AddressInfo;
      const observed: ObservedInstance = {
        instanceId: instance.id,
        specHash: instance.specHash,
        phase: "running",
        endpoint: `http://127.0.0.1:${port}/`,
        startedAt: new Date().toISOString(),
      };
      servers.set(instance.id, { server, observed });
      return observed;
    },
    remove: (id) => stop(id),
    inspect: async (id) => servers.get(id)?.observed,
    list: async () => [...servers.values()].map((s) => s.observed),
    async *logs() {}, // no `capabilities.logs`: the suite skips the log checks
    close: async () => {
      await Promise.all([...servers.keys()].map(stop));
    },
    [Symbol.asyncDispose]: () => runtime.close(),
  };
  return runtime;
}
