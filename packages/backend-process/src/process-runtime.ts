import { spawn } from "node:child_process";
import type {
  CallOptions,
  DeployRequest,
  LogLine,
  LogOptions,
  ObservedInstance,
  ProcessSpec,
  RuntimeBackend,
  RuntimeEvent,
} from "@mcpfleet/core";
import { FleetError, silentLogger } from "@mcpfleet/core";
import {
  type AsyncQueue,
  LogRing,
  noInstance,
  runtimeClosed,
  throwIfAborted,
  watchQueue,
} from "@mcpfleet/core/adapter";
import { childEnv } from "./child-env.js";
import type { ProcessRuntimeOptions } from "./options.js";
import { parseOptions } from "./options.js";
import { PidRecords } from "./pid-records.js";
import type { InstanceSettings } from "./process-instance.js";
import { ProcessInstance } from "./process-instance.js";
import { instanceDirName, launchPlan } from "./sandbox.js";
import { prepareHome, sandboxResolver, workDirOf } from "./sandbox-setup.js";

export interface ProcessRuntime extends RuntimeBackend {
  /** Pid of an instance's process (tests, diagnostics). */
  pid(instanceId: string): number | undefined;
}

const TAG = "[mcpfleet/backend-process]";

function validateSpec(request: DeployRequest): ProcessSpec {
  const spec = request.spec as ProcessSpec;
  if (spec.type !== "process") {
    throw new FleetError("UNSUPPORTED", `${TAG} spec type "${spec.type}" is not handled by the process runtime`, {
      path: "json_spec.type",
      isRetryable: false,
    });
  }
  if (
    !Array.isArray(spec.command) ||
    spec.command.length === 0 ||
    typeof spec.command[0] !== "string" ||
    spec.command[0] === ""
  ) {
    throw new FleetError("SPEC_INVALID", `${TAG} json_spec.command must name the program to run`, {
      path: "json_spec.command",
      isRetryable: false,
    });
  }
  if (spec.transport !== "stdio" && (typeof spec.port !== "number" || spec.port <= 0 || spec.port > 65535)) {
    throw new FleetError("SPEC_INVALID", `${TAG} json_spec.port is required for transport "${spec.transport}"`, {
      path: "json_spec.port",
      isRetryable: false,
    });
  }
  return spec;
}

/**
 * The embedded runtime: each `process` instance is a local child process in its own process group,
 * confined by bubblewrap (or at least run as an unprivileged user; see the README's sandbox section).
 * stdio servers are bridged to Streamable HTTP on a loopback port; HTTP servers are reached on the
 * spec's port.
 */
export function processRuntime(options: ProcessRuntimeOptions = {}): ProcessRuntime {
  const opts = parseOptions(options);
  const logger = (opts.logger ?? silentLogger()).child({ runtime: opts.name ?? "process" });
  const workDir = workDirOf(opts);
  const sandbox = sandboxResolver(opts, workDir, logger);
  const pids = new PidRecords(workDir, logger);
  pids.reap();
  const instances = new Map<string, ProcessInstance>();
  const logs = new Map<string, LogRing>();
  const locks = new Map<string, Promise<unknown>>();
  const watchers = new Set<AsyncQueue<RuntimeEvent>>();
  let closed = false;

  const emit = (instanceId: string, kind: RuntimeEvent["kind"]) => {
    const ev: RuntimeEvent = { instanceId, kind, at: new Date().toISOString() };
    for (const w of watchers) w.push(ev);
  };
  const exitHook = () => {
    for (const inst of instances.values()) inst.killNow();
  };
  process.on("exit", exitHook);

  /** Serialises work per instance id. */
  const locked = <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    const prev = locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    locks.set(id, tail);
    void tail.then(() => {
      if (locks.get(id) === tail) locks.delete(id);
    });
    return next;
  };

  const assertOpen = () => {
    if (closed) throw runtimeClosed("backend-process");
  };

  const stopInstance = async (id: string) => {
    const inst = instances.get(id);
    if (!inst) return;
    instances.delete(id);
    await inst.stop();
  };

  const runtime: ProcessRuntime = {
    specificationVersion: "v1",
    name: opts.name ?? "process",
    types: ["process"],
    capabilities: { shared: false, logs: true, watch: true, stdio: true, replicas: false },

    deploy(request: DeployRequest, call?: CallOptions): Promise<ObservedInstance> {
      try {
        assertOpen();
        throwIfAborted(call?.signal);
        validateSpec(request);
      } catch (err) {
        return Promise.reject(err);
      }
      const id = request.instance.id;
      return locked(id, async () => {
        throwIfAborted(call?.signal);
        const existing = instances.get(id);
        if (
          existing &&
          existing.observed.specHash === request.instance.specHash &&
          !["exited", "failed"].includes(existing.observed.phase)
        ) {
          return { ...existing.observed };
        }
        const replacing = existing !== undefined;
        await stopInstance(id);
        let ring = logs.get(id);
        if (!ring) {
          ring = new LogRing(opts.logLimit ?? 1000);
          logs.set(id, ring);
        }
        const cfg = await sandbox();
        const home = prepareHome(cfg, id);
        const record = instanceDirName(id);
        const settings: InstanceSettings = {
          spawn: opts.spawn ?? spawn,
          // secrets only reach the child's environment; nothing here is ever logged
          env: childEnv(
            home,
            cfg.mode === "bwrap" ? "/tmp" : `${home}/.tmp`,
            opts.baseEnv,
            request.env,
            request.secrets.env,
          ),
          plan: (spec, argv, env) => launchPlan(cfg, spec, argv, env, home),
          onSpawn: (pid) => pids.add(record, pid),
          onGone: () => pids.remove(record),
          logLimit: opts.logLimit ?? 1000,
          killGraceMs: opts.killGraceMs ?? 5000,
          startTimeoutMs: opts.startTimeoutMs ?? 30_000,
          httpPath: opts.httpPath ?? "/mcp",
          bridge: {
            ...(opts.advertiseHost ? { host: opts.advertiseHost } : {}),
            ...(opts.bridge ?? {}),
          } as InstanceSettings["bridge"],
          advertiseHost: opts.advertiseHost ?? "127.0.0.1",
          logger: logger.child({ instanceId: id }),
          onChange: (iid, kind) => {
            if (instances.get(iid) === inst) emit(iid, kind);
          },
        };
        const inst: ProcessInstance = new ProcessInstance(
          { instance: request.instance, spec: request.spec },
          ring,
          settings,
        );
        instances.set(id, inst);
        emit(id, replacing ? "changed" : "started");
        const onAbort = () => inst.abortStart();
        call?.signal?.addEventListener("abort", onAbort, { once: true });
        await inst.ready.finally(() => call?.signal?.removeEventListener("abort", onAbort));
        return { ...inst.observed };
      });
    },

    remove(instanceId: string, call?: CallOptions): Promise<void> {
      try {
        throwIfAborted(call?.signal);
      } catch (err) {
        return Promise.reject(err);
      }
      // a deploy still waiting for readiness must not hold the removal up
      instances.get(instanceId)?.abortStart();
      return locked(instanceId, async () => {
        const had = instances.has(instanceId);
        await stopInstance(instanceId);
        logs.get(instanceId)?.end();
        logs.delete(instanceId);
        if (had) emit(instanceId, "removed");
      });
    },

    async inspect(instanceId: string, call?: CallOptions): Promise<ObservedInstance | undefined> {
      throwIfAborted(call?.signal);
      const inst = instances.get(instanceId);
      return inst ? { ...inst.observed } : undefined;
    },

    async list(call?: CallOptions): Promise<ObservedInstance[]> {
      throwIfAborted(call?.signal);
      return [...instances.values()].map((i) => ({ ...i.observed }));
    },

    logs(instanceId: string, logOptions: LogOptions = {}): AsyncIterable<LogLine> {
      const ring = logs.get(instanceId);
      if (!ring) {
        const err = noInstance("backend-process", instanceId);
        return {
          [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(err) }),
        };
      }
      return ring.read(logOptions);
    },

    watch(call: CallOptions = {}): AsyncIterable<RuntimeEvent> {
      return watchQueue(watchers, call.signal, closed);
    },

    pid: (instanceId) => instances.get(instanceId)?.pid,

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...instances.keys()].map((id) => locked(id, () => stopInstance(id))));
      for (const ring of logs.values()) ring.end();
      logs.clear();
      for (const w of watchers) w.end();
      watchers.clear();
      process.off("exit", exitHook);
    },
    [Symbol.asyncDispose]() {
      return runtime.close();
    },
  };
  return runtime;
}
