import { noInstance, runtimeClosed } from "../adapter/runtime-kit.js";
import { FleetError, throwIfAborted } from "../errors.js";
import type { CallOptions } from "../plugins/common.js";
import type {
  DeployRequest,
  LogLine,
  LogOptions,
  ObservedInstance,
  RuntimeBackend,
  RuntimeEvent,
} from "../plugins/runtime.js";
import { type AsyncQueue, rejectingIterable, watchQueue } from "./async-queue.js";
import { LogRing } from "./log-ring.js";

export interface MemoryRuntimeOptions {
  /** Spec types handled; default `["docker", "process"]`. */
  types?: string[];
  name?: string;
  /** Time a deployment stays `starting` before `running` (ms); default 0. */
  startDelayMs?: number;
  /** Keep every DeployRequest (tests); default true. The latest request per instance is always kept. */
  recordRequests?: boolean;
  /** Log lines kept per instance; default 200. */
  logLimit?: number;
  /** Advertise `capabilities.replicas` (default true); false acts as a runtime that runs one copy only. */
  replicas?: boolean;
}

interface Entry {
  observed: ObservedInstance;
  logs: LogRing;
  readyTimer?: ReturnType<typeof setTimeout>;
}

interface DeployFault {
  remaining: number; // Infinity = forever
  instanceId?: string;
  permanent: boolean;
  message: string;
}

/** Controls to make a memory runtime misbehave on demand (fault-injection tests). */
export interface MemoryRuntimeFaults {
  /** The next `times` deploys (of one instance, or any) throw; `Infinity` = forever. */
  failDeploy(times: number, options?: { instanceId?: string; permanent?: boolean; message?: string }): void;
  /** `inspect` returns this instead of the truth until `clearLies()`. `null` means "nothing here". */
  lieInspect(instanceId: string, observed: Partial<ObservedInstance> | null): void;
  clearLies(): void;
  /** Every deploy takes this long (honours AbortSignal). */
  slowDeploy(ms: number): void;
  reset(): void;
}

export interface MemoryRuntime extends RuntimeBackend {
  readonly faults: MemoryRuntimeFaults;
  /** Every DeployRequest received, in order (when `recordRequests`). Holds secret values: tests only. */
  readonly requests: DeployRequest[];
  /** Deploy calls that actually (re)created something, per instance. */
  deployCount(instanceId: string): number;
  /** Total deploy calls that created something. */
  readonly totalDeploys: number;
  /** Simulates the instance's process exiting. */
  crash(instanceId: string, exitCode?: number, reason?: string): void;
  /** Appends a log line as if the instance printed it. */
  emitLog(instanceId: string, line: string, stream?: "stdout" | "stderr"): void;
  /** Ids currently deployed. */
  ids(): string[];
}

/**
 * An in-memory runtime: deploys are bookkeeping only. Idempotent like a real one (same spec hash =
 * no-op, new hash = replace), with fault injection for tests and benchmarks.
 */
export function memoryRuntime(options: MemoryRuntimeOptions = {}): MemoryRuntime {
  const types = options.types ?? ["docker", "process"];
  const startDelayMs = options.startDelayMs ?? 0;
  const record = options.recordRequests ?? true;
  const logLimit = options.logLimit ?? 200;
  const entries = new Map<string, Entry>();
  const counts = new Map<string, number>();
  const requests: DeployRequest[] = [];
  const lies = new Map<string, Partial<ObservedInstance> | null>();
  const watchers = new Set<AsyncQueue<RuntimeEvent>>();
  let deployFaults: DeployFault[] = [];
  let slowMs = 0;
  let totalDeploys = 0;
  let closed = false;

  const emit = (instanceId: string, kind: RuntimeEvent["kind"]) => {
    const ev: RuntimeEvent = { instanceId, kind, at: new Date().toISOString() };
    for (const w of watchers) w.push(ev);
  };

  const assertOpen = () => {
    if (closed) throw runtimeClosed("memory-runtime");
  };

  const takeFault = (instanceId: string): DeployFault | undefined => {
    const fault = deployFaults.find((f) => f.remaining > 0 && (!f.instanceId || f.instanceId === instanceId));
    if (fault) fault.remaining -= 1;
    deployFaults = deployFaults.filter((f) => f.remaining > 0);
    return fault;
  };

  const waitSlow = async (signal: AbortSignal | undefined) => {
    if (slowMs <= 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, slowMs);
      const onAbort = () => {
        clearTimeout(timer);
        reject(new FleetError("ABORTED", "deploy aborted", { cause: signal?.reason }));
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
    });
  };

  const runtime: MemoryRuntime = {
    specificationVersion: "v1",
    name: options.name ?? "memory",
    types,
    capabilities: { logs: true, watch: true, stdio: true, replicas: options.replicas ?? true },
    requests,
    get totalDeploys() {
      return totalDeploys;
    },

    async deploy(request: DeployRequest, opts?: CallOptions): Promise<ObservedInstance> {
      assertOpen();
      throwIfAborted(opts?.signal);
      const id = request.instance.id;
      if (!types.includes(request.spec.type)) {
        throw new FleetError("UNSUPPORTED", `[mcpfleet/memory-runtime] spec type "${request.spec.type}" not handled`, {
          path: "json_spec.type",
        });
      }
      await waitSlow(opts?.signal);
      const fault = takeFault(id);
      if (fault) {
        throw new FleetError("DEPLOY_FAILED", fault.message, {
          isRetryable: !fault.permanent,
          details: { instanceId: id },
        });
      }
      const existing = entries.get(id);
      if (
        existing &&
        existing.observed.specHash === request.instance.specHash &&
        existing.observed.phase !== "exited"
      ) {
        return { ...existing.observed };
      }
      if (existing?.readyTimer) clearTimeout(existing.readyTimer);
      const replicas = (request.spec as { replicas?: number }).replicas;
      const observed: ObservedInstance = {
        instanceId: id,
        specHash: request.instance.specHash,
        generation: request.instance.generation,
        phase: startDelayMs > 0 ? "starting" : "running",
        endpoint: `memory://${id}`,
        startedAt: new Date().toISOString(),
        ...(replicas ? { replicas: { desired: replicas, ready: startDelayMs > 0 ? 0 : replicas } } : {}),
      };
      const entry: Entry = { observed, logs: existing?.logs ?? new LogRing(logLimit) };
      entries.set(id, entry);
      if (startDelayMs > 0) {
        entry.readyTimer = setTimeout(() => {
          if (entries.get(id) !== entry) return;
          entry.observed = {
            ...entry.observed,
            phase: "running",
            ...(entry.observed.replicas
              ? { replicas: { ...entry.observed.replicas, ready: entry.observed.replicas.desired } }
              : {}),
          };
          emit(id, "changed");
        }, startDelayMs);
        entry.readyTimer.unref?.();
      }
      counts.set(id, (counts.get(id) ?? 0) + 1);
      totalDeploys += 1;
      if (record) requests.push(request);
      entry.logs.push({
        time: observed.startedAt!,
        stream: "stdout",
        line: `started ${request.instance.name} (${request.instance.specHash.slice(0, 12)})`,
      });
      emit(id, existing ? "changed" : "started");
      return { ...observed };
    },

    async remove(instanceId: string, opts?: CallOptions): Promise<void> {
      assertOpen();
      throwIfAborted(opts?.signal);
      const entry = entries.get(instanceId);
      if (!entry) return;
      if (entry.readyTimer) clearTimeout(entry.readyTimer);
      entries.delete(instanceId);
      entry.logs.end();
      emit(instanceId, "removed");
    },

    async inspect(instanceId: string, opts?: CallOptions): Promise<ObservedInstance | undefined> {
      assertOpen();
      throwIfAborted(opts?.signal);
      if (lies.has(instanceId)) {
        const lie = lies.get(instanceId);
        if (lie === null) return undefined;
        const base = entries.get(instanceId)?.observed;
        return { instanceId, specHash: "", phase: "unknown", ...base, ...lie };
      }
      const entry = entries.get(instanceId);
      return entry ? { ...entry.observed } : undefined;
    },

    async list(opts?: CallOptions): Promise<ObservedInstance[]> {
      assertOpen();
      throwIfAborted(opts?.signal);
      return [...entries.values()].map((e) => ({ ...e.observed }));
    },

    logs(instanceId: string, opts: LogOptions = {}): AsyncIterable<LogLine> {
      const entry = entries.get(instanceId);
      if (!entry) {
        return rejectingIterable(noInstance("memory-runtime", instanceId));
      }
      return entry.logs.read(opts);
    },

    watch(opts: CallOptions = {}): AsyncIterable<RuntimeEvent> {
      return watchQueue(watchers, opts.signal);
    },

    deployCount: (instanceId) => counts.get(instanceId) ?? 0,

    crash(instanceId, exitCode = 1, reason) {
      const entry = entries.get(instanceId);
      if (!entry) return;
      if (entry.readyTimer) clearTimeout(entry.readyTimer);
      entry.observed = {
        ...entry.observed,
        phase: "exited",
        exitCode,
        reason: reason ?? `exited with code ${exitCode}`,
      };
      entry.logs.push({ time: new Date().toISOString(), stream: "stderr", line: entry.observed.reason! });
      emit(instanceId, "exited");
    },

    emitLog(instanceId, line, stream = "stdout") {
      entries.get(instanceId)?.logs.push({ time: new Date().toISOString(), stream, line });
    },

    ids: () => [...entries.keys()],

    faults: {
      failDeploy(times, o = {}) {
        deployFaults.push({
          remaining: times,
          instanceId: o.instanceId,
          permanent: o.permanent ?? false,
          message: o.message ?? "injected deploy failure",
        });
      },
      lieInspect(instanceId, observed) {
        lies.set(instanceId, observed);
      },
      clearLies: () => lies.clear(),
      slowDeploy(ms) {
        slowMs = ms;
      },
      reset() {
        deployFaults = [];
        lies.clear();
        slowMs = 0;
      },
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const e of entries.values()) {
        if (e.readyTimer) clearTimeout(e.readyTimer);
        e.logs.end();
      }
      for (const w of watchers) w.end();
      watchers.clear();
    },
    [Symbol.asyncDispose]() {
      return runtime.close();
    },
  };
  return runtime;
}
