import type { Logger, RuntimeEvent } from "@mcpfleet/core";
import { FleetError } from "@mcpfleet/core";
import type Dockerode from "dockerode";
import { engineMessage } from "./engine.js";
import { LABEL } from "./naming.js";

interface EngineEvent {
  Type?: string;
  Action?: string;
  status?: string;
  time?: number;
  timeNano?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

const KINDS: Record<string, RuntimeEvent["kind"]> = {
  start: "started",
  die: "exited",
  died: "exited",
  oom: "exited",
  destroy: "removed",
  remove: "removed",
};

/** Maps one engine event to a RuntimeEvent when it concerns a container this owner manages. */
export function toRuntimeEvent(ev: EngineEvent, owner: string): RuntimeEvent | undefined {
  if (ev.Type !== "container") return undefined;
  const attrs = ev.Actor?.Attributes ?? {};
  if (attrs[LABEL.managedBy] !== owner) return undefined;
  const instanceId = attrs[LABEL.instanceId];
  const kind = KINDS[ev.Action ?? ev.status ?? ""];
  if (!instanceId || !kind) return undefined;
  const ms = ev.timeNano ? Math.floor(ev.timeNano / 1e6) : ev.time ? ev.time * 1000 : Date.now();
  return { instanceId, kind, at: new Date(ms).toISOString() };
}

/** Streams container start/die/remove events of `owner`'s containers until `signal` aborts. */
export async function* watchEvents(
  client: Dockerode,
  owner: string,
  signal: AbortSignal,
  logger: Logger,
): AsyncGenerator<RuntimeEvent> {
  if (signal.aborted) return;
  let stream: NodeJS.ReadableStream & { destroy(): void };
  try {
    stream = (await client.getEvents({
      filters: { type: ["container"], label: [`${LABEL.managedBy}=${owner}`] },
      abortSignal: signal,
    })) as unknown as typeof stream;
  } catch (err) {
    if (signal.aborted) return;
    throw new FleetError("RUNTIME_UNAVAILABLE", `[mcpfleet/backend-podman] events: ${engineMessage(err)}`, {
      cause: err,
    });
  }
  const stop = () => stream.destroy();
  signal.addEventListener("abort", stop, { once: true });
  let buffer = "";
  try {
    for await (const chunk of stream) {
      buffer += typeof chunk === "string" ? chunk : (chunk as Buffer).toString("utf8");
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf("\n");
        if (!line) continue;
        let ev: EngineEvent;
        try {
          ev = JSON.parse(line) as EngineEvent;
        } catch {
          logger.debug({ length: line.length }, "unparseable engine event skipped");
          continue;
        }
        const out = toRuntimeEvent(ev, owner);
        if (out) yield out;
      }
    }
  } catch (err) {
    if (!signal.aborted)
      throw new FleetError("RUNTIME_UNAVAILABLE", `[mcpfleet/backend-podman] events: ${engineMessage(err)}`, {
        cause: err,
      });
  } finally {
    signal.removeEventListener("abort", stop);
    stop();
  }
}
