import { FleetError } from "../errors.js";
import { rejectingIterable } from "../memory/async-queue.js";
import type { DeployRequest, LogLine, ObservedInstance, RuntimeBackend } from "../plugins/runtime.js";

/**
 * The built-in runtime for `url` specs: nothing is deployed; the instance is the remote endpoint.
 * Health comes from the health monitor's probes.
 */
export function urlRuntime(): RuntimeBackend {
  const known = new Map<string, ObservedInstance>();
  const runtime: RuntimeBackend = {
    specificationVersion: "v1",
    name: "url",
    types: ["url"],
    capabilities: { shared: false, logs: false, watch: false },
    async deploy(req: DeployRequest) {
      if (req.spec.type !== "url") {
        throw new FleetError("UNSUPPORTED", `[mcpfleet/url-runtime] spec type "${req.spec.type}" not handled`, {
          path: "json_spec.type",
        });
      }
      const spec = req.spec as Extract<DeployRequest["spec"], { type: "url" }>;
      const observed: ObservedInstance = {
        instanceId: req.instance.id,
        specHash: req.instance.specHash,
        generation: req.instance.generation,
        phase: "running",
        endpoint: spec.endpoint,
        transport: spec.transport,
        startedAt: new Date().toISOString(),
      };
      known.set(req.instance.id, observed);
      return { ...observed };
    },
    async remove(id) {
      known.delete(id);
    },
    async inspect(id) {
      const o = known.get(id);
      return o ? { ...o } : undefined;
    },
    async list() {
      return [...known.values()].map((o) => ({ ...o }));
    },
    logs(id): AsyncIterable<LogLine> {
      return rejectingIterable(
        new FleetError("UNSUPPORTED", `instance ${id} is a remote URL: it has no logs here`, { path: "id" }),
      );
    },
    async close() {
      known.clear();
    },
    [Symbol.asyncDispose]: () => runtime.close(),
  };
  return runtime;
}
