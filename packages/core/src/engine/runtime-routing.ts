import { FleetError } from "../errors.js";
import type { RuntimeBackend } from "../plugins/runtime.js";
import type { SpecTypeRegistry } from "../spec/spec-registry.js";

/**
 * The fleet's runtime per spec type. `runtimes` is keyed by `json_spec.type` (that key routes the
 * instances); `container` is an alias of `docker`. Checked here, once, against the registry:
 * every key must be a registered spec type, and a runtime that declares `types` (the spec types it
 * serves) must serve the key it is registered under. Both refusals are `OPTIONS_INVALID` with the
 * path `runtimes.<key>`. The engine adds its own `url` runtime when none is given.
 */
export function routeRuntimes(
  given: Record<string, RuntimeBackend>,
  specs: SpecTypeRegistry,
): Map<string, RuntimeBackend> {
  const routes = new Map<string, RuntimeBackend>();
  for (const [key, runtime] of Object.entries(given)) {
    const path = `runtimes.${key}`;
    const refuse = (message: string) =>
      new FleetError("OPTIONS_INVALID", `[mcpfleet/core] option "${path}": ${message}`, { path });
    if (!specs.has(key)) {
      throw refuse(
        `"${key}" is not a registered spec type (one of ${specs.types.join(", ")}); register it in specTypes`,
      );
    }
    const type = key === "container" ? "docker" : key;
    const served = runtime.types;
    if (served !== undefined && !served.includes(type) && !(type === "docker" && served.includes("container"))) {
      throw refuse(`runtime "${runtime.name}" serves ${served.join(", ") || "no spec type"}, not ${type}`);
    }
    if (routes.has(type) && routes.get(type) !== runtime) {
      throw refuse(`both docker and container are given different runtimes; give one (container is docker's alias)`);
    }
    routes.set(type, runtime);
  }
  const docker = routes.get("docker");
  if (docker) routes.set("container", docker);
  return routes;
}
