// Type-checked with tsc against the installed .d.ts files (ESM resolution: the "import" types).
import { kubernetesRuntime } from "@mcpfleet/backend-k8s";
import { podmanRuntime } from "@mcpfleet/backend-podman";
import { processRuntime } from "@mcpfleet/backend-process";
import { natsBus } from "@mcpfleet/bus-nats";
import { redisBus } from "@mcpfleet/bus-redis";
import {
  type CustomSpec,
  createFleet,
  type EventBus,
  type Fleet,
  FleetError,
  type RuntimeBackend,
  type SecretStore,
  type SpecTypeDefinition,
} from "@mcpfleet/core";
import { deployRequest, type RuntimeConformanceOptions } from "@mcpfleet/core/testing";
import { mcpProbe } from "@mcpfleet/mcp";
import { infisicalSecrets } from "@mcpfleet/secrets-infisical";
import { vaultSecrets } from "@mcpfleet/secrets-vault";

declare const never: never;
const runtimes: RuntimeBackend[] = [processRuntime(), podmanRuntime(), kubernetesRuntime()];
const buses: EventBus[] = [redisBus({ url: "redis://127.0.0.1:6379" }), natsBus({ servers: "nats://127.0.0.1:4222" })];
const stores: SecretStore[] = [vaultSecrets(never), infisicalSecrets(never)];
const parse: SpecTypeDefinition = (raw) => ({ queue: String(raw.queue) });
const fleet: Fleet = createFleet({
  specTypes: { queue: parse },
  runtimes: { process: runtimes[0]! },
  probes: [mcpProbe()],
});
const spec: CustomSpec = deployRequest({ type: "queue", queue: "q" }, { specTypes: { queue: parse } })
  .spec as CustomSpec;
const options: RuntimeConformanceOptions = { spec: { type: "queue" }, specTypes: { queue: parse } };
export const used = [buses, stores, fleet, spec.raw, options, FleetError.isInstance(null)];

// The types are real, not `any`: each of these must be an error.
// @ts-expect-error a runtime must be a RuntimeBackend
createFleet({ runtimes: { docker: "podman" } });
// @ts-expect-error a spec type is a Standard Schema or a parse function
createFleet({ specTypes: { queue: 42 } });
// @ts-expect-error FleetError codes are a closed union
new FleetError("NOT_A_CODE", "x");
