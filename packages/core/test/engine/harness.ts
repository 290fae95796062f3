import { readFileSync } from "node:fs";
import {
  createFleet,
  type EventBus,
  type Fleet,
  type FleetEvent,
  type FleetOptions,
  type FleetStore,
  type MemoryRuntime,
  memoryRuntime,
  type RecordedLogLine,
  recordingLogger,
  type SecretStore,
} from "../../src/index.js";

const seedDir = new URL("../fixtures/seeds/", import.meta.url);

export function seed<T = any>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, seedDir), "utf8")) as T;
}

export interface Harness {
  fleet: Fleet;
  runtime: MemoryRuntime;
  events: FleetEvent[];
  logs: RecordedLogLine[];
}

/** A fleet on the memory runtime with fast backoff and a recording logger at debug. */
export async function harness(
  options: Partial<FleetOptions> & {
    bus?: EventBus;
    store?: FleetStore;
    secrets?: SecretStore;
    runtime?: MemoryRuntime;
  } = {},
): Promise<Harness> {
  const runtime = options.runtime ?? memoryRuntime();
  const logger = recordingLogger();
  const fleet = createFleet({
    runtimes: { docker: runtime, process: runtime },
    logger,
    ...options,
    reconciler: { backoffBaseMs: 5, backoffMaxMs: 40, maxRestarts: 3, resyncIntervalMs: 60_000, ...options.reconciler },
  });
  const events: FleetEvent[] = [];
  fleet.subscribe((e) => events.push(e));
  await fleet.start();
  return { fleet, runtime, events, logs: logger.lines };
}

export const dockerSpec = (extra: Record<string, unknown> = {}) => ({
  type: "docker",
  image: "mcp/filesystem:latest",
  port: 8001,
  environment: { ALLOWED_DIRECTORIES: "/tmp" },
  ...extra,
});

export function statuses(events: FleetEvent[], id: string): string[] {
  return events
    .filter((e) => e.subject === id && e.type === "MCPServerInstanceStatusChanged")
    .map((e) => String(e.data.status));
}

export async function eventually(
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
