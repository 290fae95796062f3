import {
  type CallOptions,
  type LogLine,
  type LogOptions,
  type ObservedInstance,
  type RuntimeBackend,
  type RuntimeEvent,
  toFleetError,
} from "@mcpfleet/core";
import { adapterLogger, noInstance, runtimeClosed, throwIfAborted } from "@mcpfleet/core/adapter";
import type Dockerode from "dockerode";
import { type Engine, openEngine, type PodmanConnection } from "./connection.js";
import { containerLogs } from "./container-logs.js";
import { type DeployContext, deployInstance } from "./deploy.js";
import { engineMessage } from "./engine.js";
import { removeContainer as removeContainerOp, wrapEngineError } from "./engine-ops.js";
import { LABEL, replicaName } from "./naming.js";
import { observeInspect, observeSummary } from "./observe.js";
import { type PodmanRuntimeOptions, resolveOptions } from "./options.js";
import { type Accepted, combine, instanceContainers, nameOf, replicaOf } from "./replicas.js";
import { StdioBridges } from "./stdio-bridges.js";
import { watchEvents } from "./watch.js";

export type { PodmanConnection } from "./connection.js";

export interface PodmanRuntime extends RuntimeBackend {
  /** The `mcpfleet.managed-by` label value of this runtime's containers. */
  readonly owner: string;
  /** Connects (lazily, once) and reports which engine answered. */
  connection(options?: CallOptions): Promise<PodmanConnection>;
  /** Deterministic container name of an instance's copy `replica` (default 0, the only one without replicas). */
  containerName(instanceId: string, replica?: number): string;
}

/**
 * A per-call signal following the caller's: every engine request adds an abort listener to the signal
 * it gets, and a fleet shares one signal across many concurrent calls (Node warns past 10 listeners).
 */
function scoped(options: CallOptions | undefined): CallOptions {
  return options?.signal ? { signal: AbortSignal.any([options.signal]) } : {};
}

/**
 * A RuntimeBackend for `docker` specs through Podman's Docker-compatible API (Docker works too, without
 * Podman secrets). Containers never get an engine restart policy: the reconciler restarts with backoff.
 */
export function podmanRuntime(input: PodmanRuntimeOptions = {}): PodmanRuntime {
  const options = resolveOptions(input);
  const logger = adapterLogger(options.logger, { adapter: "podman", owner: options.owner });
  const env = options.env ?? process.env;
  let enginePromise: Promise<Engine> | undefined;
  let closed = false;
  const closing = new AbortController();
  const failures = new Map<string, ObservedInstance>();
  const networks = new Set<string>();
  const bridges = new StdioBridges(logger, { listenHost: options.publishHost, endpointHost: options.endpointHost });

  /** Observed state; stdio containers get the endpoint of this process's bridge (attaching when needed). */
  async function observe(
    e: Engine,
    info: Dockerode.ContainerInspectInfo,
    signal?: AbortSignal,
  ): Promise<ObservedInstance> {
    const observed = observeInspect(info, options.endpointHost);
    if (info.Config?.Labels?.[LABEL.transport] !== "stdio") return observed;
    observed.transport = "streamable-http";
    if (observed.phase !== "running") {
      await bridges.drop(observed.instanceId);
      return observed;
    }
    let url = bridges.url(observed.instanceId, info.Id);
    if (!url) {
      try {
        url = await bridges.adopt(e.client, observed.instanceId, info.Id, signal);
      } catch (err) {
        logger.warn({ instanceId: observed.instanceId, err: engineMessage(err) }, "cannot attach to stdio container");
      }
    }
    if (url) {
      observed.endpoint = url;
      const headers = bridges.headers(observed.instanceId);
      if (headers) observed.endpointHeaders = headers;
    }
    return observed;
  }

  function connect(signal?: AbortSignal): Promise<Engine> {
    if (closed) return Promise.reject(runtimeClosed("backend-podman"));
    if (!enginePromise) {
      enginePromise = openEngine(options, env, logger, signal);
      enginePromise.catch(() => {
        enginePromise = undefined; // try detection again on the next call
      });
    }
    return enginePromise;
  }

  const wrap = wrapEngineError;
  const removeContainer = (e: Engine, name: string, signal?: AbortSignal) =>
    removeContainerOp(e.client, e.info.podman, name, options.stopTimeoutSeconds, signal);
  /** The last deploy this process settled per instance (see `combine`). */
  const accepted = new Map<string, Accepted>();

  /** One observation from an instance's containers (stdio: its one container through the bridge). */
  async function observeAll(
    e: Engine,
    instanceId: string,
    infos: Dockerode.ContainerInspectInfo[],
    signal?: AbortSignal,
  ): Promise<ObservedInstance | undefined> {
    const first = infos[0];
    if (!first) return failures.get(instanceId);
    if (first.Config?.Labels?.[LABEL.transport] === "stdio") return observe(e, first, signal);
    const members = infos.map((info) => ({
      replica: replicaOf(info.Config?.Labels),
      labels: info.Config?.Labels ?? {},
      observed: observeInspect(info, options.endpointHost),
    }));
    return combine(instanceId, members, accepted.get(instanceId), options.replicaHealth);
  }

  const deployContext: DeployContext = {
    options,
    logger,
    failures,
    accepted,
    networks,
    bridges,
    connect,
    observeAll,
    removeContainer,
  };

  async function remove(instanceId: string, callOptions: CallOptions = {}): Promise<void> {
    throwIfAborted(callOptions.signal);
    failures.delete(instanceId);
    accepted.delete(instanceId);
    await bridges.drop(instanceId);
    const e = await connect(callOptions.signal);
    for (const info of await instanceContainers(e.client, options.owner, instanceId, callOptions.signal)) {
      await removeContainer(e, nameOf(info), callOptions.signal);
    }
  }

  async function inspect(instanceId: string, callOptions: CallOptions = {}): Promise<ObservedInstance | undefined> {
    throwIfAborted(callOptions.signal);
    const e = await connect(callOptions.signal);
    const infos = await instanceContainers(e.client, options.owner, instanceId, callOptions.signal);
    return observeAll(e, instanceId, infos, callOptions.signal);
  }

  async function list(callOptions: CallOptions = {}): Promise<ObservedInstance[]> {
    throwIfAborted(callOptions.signal);
    const e = await connect(callOptions.signal);
    let all: Dockerode.ContainerInfo[];
    try {
      all = await e.client.listContainers({
        all: true,
        filters: { label: [`${LABEL.managedBy}=${options.owner}`] },
        abortSignal: callOptions.signal,
      });
    } catch (err) {
      throw wrap(err, "list containers");
    }
    const byInstance = new Map<string, Dockerode.ContainerInfo[]>();
    for (const c of all) {
      const id = c.Labels?.[LABEL.instanceId];
      if (c.Labels?.[LABEL.managedBy] !== options.owner || !id) continue;
      byInstance.set(id, [...(byInstance.get(id) ?? []), c]);
    }
    return [...byInstance].map(([id, containers]) => {
      const c = containers[0] as Dockerode.ContainerInfo;
      if (c.Labels?.[LABEL.transport] === "stdio") {
        const o = observeSummary(c, options.endpointHost);
        o.transport = "streamable-http";
        const url = o.phase === "running" ? bridges.url(o.instanceId, c.Id) : undefined;
        if (url) o.endpoint = url;
        const headers = url ? bridges.headers(o.instanceId) : undefined;
        if (headers) o.endpointHeaders = headers;
        return o;
      }
      const members = containers.map((m) => ({
        replica: replicaOf(m.Labels),
        labels: m.Labels ?? {},
        observed: observeSummary(m, options.endpointHost),
      }));
      return combine(id, members, accepted.get(id), options.replicaHealth);
    });
  }

  /** Lines of the instance's first copy (each copy keeps its own log; `podman logs <name>` reads another). */
  async function* logs(instanceId: string, logOptions: LogOptions = {}): AsyncGenerator<LogLine> {
    const e = await connect(logOptions.signal);
    const [info] = await instanceContainers(e.client, options.owner, instanceId, logOptions.signal);
    if (!info) {
      throw noInstance("backend-podman", instanceId);
    }
    const signal = logOptions.signal ? AbortSignal.any([logOptions.signal, closing.signal]) : closing.signal;
    yield* containerLogs(e.client, nameOf(info), { ...logOptions, signal });
  }

  async function* watch(callOptions: CallOptions = {}): AsyncGenerator<RuntimeEvent> {
    const e = await connect(callOptions.signal);
    const signal = callOptions.signal ? AbortSignal.any([callOptions.signal, closing.signal]) : closing.signal;
    yield* watchEvents(e.client, options.owner, signal, logger);
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    closing.abort();
    await bridges.closeAll();
  }

  return {
    specificationVersion: "v1",
    name: "podman",
    owner: options.owner,
    types: ["docker"],
    capabilities: { shared: true, logs: true, watch: true, stdio: true, replicas: true },
    deploy: (request, o) =>
      deployInstance(deployContext, request, scoped(o)).catch((err) =>
        Promise.reject(toFleetError(err, "DEPLOY_FAILED")),
      ),
    remove: (id, o) => remove(id, scoped(o)),
    inspect: (id, o) => inspect(id, scoped(o)),
    list: (o) => list(scoped(o)),
    logs,
    watch,
    async connection(o?: CallOptions) {
      return (await connect(o?.signal)).conn;
    },
    containerName: (id, replica = 0) => replicaName(options.owner, id, replica),
    close,
    [Symbol.asyncDispose]: close,
  };
}
