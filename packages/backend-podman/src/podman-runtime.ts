import {
  type CallOptions,
  type ContainerSpec,
  type DeployRequest,
  FleetError,
  type LogLine,
  type LogOptions,
  type ObservedInstance,
  type RuntimeBackend,
  type RuntimeEvent,
  silentLogger,
  throwIfAborted,
  toFleetError,
} from "@mcpfleet/core";
import type Dockerode from "dockerode";
import { containerLogs } from "./container-logs.js";
import { compatCreateOptions, libpodCreateBody } from "./create-body.js";
import { dial, type EngineInfo, engineInfo, engineMessage, versionAtLeast } from "./engine.js";
import {
  ensureImage,
  ensureNetwork,
  inspectContainer,
  removeContainer as removeContainerOp,
  wrapEngineError,
} from "./engine-ops.js";
import { containerName, LABEL, secretPrefix } from "./naming.js";
import { observeInspect, observeSummary } from "./observe.js";
import { ADAPTER, type PodmanRuntimeOptions, resolveOptions, type SecretMode } from "./options.js";
import { buildPlan, checkHostPaths } from "./plan.js";
import { createSecrets, removeSecrets } from "./secrets.js";
import { detectSocket, type SocketCandidate } from "./socket.js";
import { type PendingBridge, StdioBridges } from "./stdio-bridges.js";
import { watchEvents } from "./watch.js";

export interface PodmanConnection {
  address: string;
  source: string;
  podman: boolean;
  version: string;
  api: "libpod" | "compat";
  secretMode: Exclude<SecretMode, "auto"> | "none";
}

export interface PodmanRuntime extends RuntimeBackend {
  /** The `mcpfleet.managed-by` label value of this runtime's containers. */
  readonly owner: string;
  /** Connects (lazily, once) and reports which engine answered. */
  connection(options?: CallOptions): Promise<PodmanConnection>;
  /** Deterministic container name of an instance. */
  containerName(instanceId: string): string;
}

interface Engine {
  client: Dockerode;
  info: EngineInfo;
  conn: PodmanConnection;
}

/**
 * A per-call signal following the caller's: every engine request adds an abort listener to the signal
 * it gets, and a fleet shares one signal across many concurrent calls (Node warns past 10 listeners).
 */
function scoped(options: CallOptions | undefined): CallOptions {
  return options?.signal ? { signal: AbortSignal.any([options.signal]) } : {};
}

/** Podman >= 5.3 hides env-type secret values in `inspect` (containers/podman#23788, fixed by #23959). */
const ENV_SECRETS_SAFE_FROM = "5.3.0";

/**
 * A RuntimeBackend for `docker` specs through Podman's Docker-compatible API (Docker works too, without
 * Podman secrets). Containers never get an engine restart policy: the reconciler restarts with backoff.
 */
export function podmanRuntime(input: PodmanRuntimeOptions = {}): PodmanRuntime {
  const options = resolveOptions(input);
  const logger = (options.logger ?? silentLogger()).child({ adapter: "podman", owner: options.owner });
  const env = options.env ?? process.env;
  let enginePromise: Promise<Engine> | undefined;
  let closed = false;
  const closing = new AbortController();
  const failures = new Map<string, ObservedInstance>();
  const networks = new Set<string>();
  const bridges = new StdioBridges(logger);

  /** Observed state; stdio containers get the endpoint of this process's bridge (attaching when needed). */
  async function observe(
    e: Engine,
    info: Dockerode.ContainerInspectInfo,
    signal?: AbortSignal,
  ): Promise<ObservedInstance> {
    const observed = observeInspect(info);
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
    if (url) observed.endpoint = url;
    return observed;
  }

  function connect(signal?: AbortSignal): Promise<Engine> {
    if (closed) return Promise.reject(new FleetError("CLOSED", `[${ADAPTER}] runtime is closed`));
    if (!enginePromise) {
      enginePromise = (async () => {
        let client: Dockerode;
        let candidate: SocketCandidate;
        if (options.docker) {
          client = options.docker;
          candidate = { source: "options.docker", address: "injected client" };
        } else {
          ({ client, candidate } = await detectSocket({
            socketPath: options.socketPath,
            env,
            logger,
            pingTimeoutMs: options.pingTimeoutMs,
            signal,
          }));
        }
        const info = await engineInfo(client, signal);
        const api = options.api === "auto" ? (info.podman ? "libpod" : "compat") : options.api;
        let secretMode: PodmanConnection["secretMode"] = options.secretMode === "auto" ? "none" : options.secretMode;
        if (options.secretMode === "auto" && info.podman) {
          secretMode = versionAtLeast(info.version, ENV_SECRETS_SAFE_FROM) ? "podman-env" : "podman-mount";
        }
        const conn: PodmanConnection = { ...candidate, podman: info.podman, version: info.version, api, secretMode };
        logger.info(
          { address: conn.address, source: conn.source, podman: info.podman, version: info.version, api, secretMode },
          "engine connected",
        );
        return { client, info, conn };
      })();
      enginePromise.catch(() => {
        enginePromise = undefined; // try detection again on the next call
      });
    }
    return enginePromise;
  }

  const inspectByName = inspectContainer;
  const wrap = wrapEngineError;
  const removeContainer = (e: Engine, name: string, signal?: AbortSignal) =>
    removeContainerOp(e.client, e.info.podman, name, options.stopTimeoutSeconds, signal);

  function failed(request: DeployRequest, reason: string): ObservedInstance {
    const observed: ObservedInstance = {
      instanceId: request.instance.id,
      specHash: request.instance.specHash,
      generation: request.instance.generation,
      phase: "failed",
      reason,
      permanent: true,
    };
    failures.set(request.instance.id, observed);
    logger.warn({ instanceId: request.instance.id, reason }, "deploy failed permanently");
    return observed;
  }

  async function deploy(request: DeployRequest, callOptions: CallOptions = {}): Promise<ObservedInstance> {
    const { signal } = callOptions;
    throwIfAborted(signal);
    const spec = request.spec;
    if (spec.type !== "docker") {
      throw new FleetError("UNSUPPORTED", `[${ADAPTER}] spec type "${spec.type}" is not handled (docker only)`, {
        path: "json_spec.type",
        isRetryable: false,
      });
    }
    const cspec = spec as ContainerSpec;
    checkHostPaths(cspec, options.allowedHostPaths);
    const e = await connect(signal);
    const hasSecrets = Object.keys(request.secrets.env).length > 0;
    if (hasSecrets && e.conn.secretMode === "none") {
      throw new FleetError(
        "UNSUPPORTED",
        `[${ADAPTER}] this engine (${e.info.podman ? "Podman" : "Docker"} ${e.info.version}) has no secrets API for containers; ` +
          'set secretMode "plain-env" to pass secret values as plain (inspect-visible) environment variables',
        { path: "environment", isRetryable: false },
      );
    }
    if (hasSecrets && e.conn.api === "compat" && e.conn.secretMode !== "plain-env") {
      throw new FleetError("UNSUPPORTED", `[${ADAPTER}] Podman secrets need api "libpod" (api is "compat")`, {
        path: "api",
        isRetryable: false,
      });
    }
    const name = containerName(options.owner, request.instance.id);
    const log = logger.child({ instanceId: request.instance.id, container: name });
    const existing = await inspectByName(e.client, name, signal);
    if (existing) {
      const current = observeInspect(existing);
      if (current.specHash === request.instance.specHash && current.phase !== "exited") {
        log.debug({ specHash: current.specHash }, "same spec hash: no-op");
        return observe(e, existing, signal);
      }
      log.info({ from: current.specHash, to: request.instance.specHash, phase: current.phase }, "replacing container");
      await removeContainer(e, name, signal);
    }
    failures.delete(request.instance.id);
    const image = await ensureImage(e.client, cspec.image, options.pullPolicy, signal);
    if (image.missing) return failed(request, image.missing);
    const exposed = Object.keys(image.config?.ExposedPorts ?? {}).find((p) => p.endsWith("/tcp"));
    const { plan, secrets } = buildPlan({
      request,
      spec: cspec,
      options,
      secretMode: hasSecrets ? e.conn.secretMode : "none",
      ...(image.config?.User ? { imageUser: image.config.User } : {}),
      ...(exposed ? { imagePort: Number.parseInt(exposed, 10) } : {}),
    });
    if (!networks.has(options.network)) {
      await ensureNetwork(
        e.client,
        { name: options.network, internal: options.internalNetwork, owner: options.owner },
        logger,
        signal,
      );
      networks.add(options.network);
    }
    let pending: PendingBridge | undefined;
    try {
      if (secrets.length) await removeSecrets(e.client, secretPrefix(name), e.info.podman, signal);
      await createSecrets(e.client, secrets);
      let containerId: string;
      if (e.conn.api === "libpod") {
        ({ Id: containerId } = await dial<{ Id: string }>(e.client, {
          path: "/v4.0.0/libpod/containers/create",
          method: "POST",
          body: libpodCreateBody(plan),
          statusCodes: { 201: true, 400: "bad parameter", 404: "no such image", 409: "conflict", 500: "server error" },
          signal,
        }));
      } else {
        containerId = (await e.client.createContainer({ ...compatCreateOptions(plan), abortSignal: signal })).id;
      }
      // stdio: attach before start so the server's first output is not lost
      if (plan.openStdin) pending = await bridges.attach(e.client, request.instance.id, containerId, signal);
      await e.client.getContainer(name).start({ abortSignal: signal });
      if (pending) await pending.serve();
    } catch (err) {
      log.warn({ err: engineMessage(err) }, "create/start failed, cleaning up");
      await bridges.drop(request.instance.id);
      await removeContainer(e, name).catch(() => {});
      throw wrap(err, `create container ${name}`);
    }
    const after = await inspectByName(e.client, name, signal);
    if (!after) throw new FleetError("DEPLOY_FAILED", `[${ADAPTER}] container ${name} vanished after start`);
    const observed = await observe(e, after, signal);
    log.info({ phase: observed.phase, endpoint: observed.endpoint }, "container deployed");
    return observed;
  }

  async function remove(instanceId: string, callOptions: CallOptions = {}): Promise<void> {
    throwIfAborted(callOptions.signal);
    failures.delete(instanceId);
    await bridges.drop(instanceId);
    const e = await connect(callOptions.signal);
    await removeContainer(e, containerName(options.owner, instanceId), callOptions.signal);
  }

  async function inspect(instanceId: string, callOptions: CallOptions = {}): Promise<ObservedInstance | undefined> {
    throwIfAborted(callOptions.signal);
    const e = await connect(callOptions.signal);
    const info = await inspectByName(e.client, containerName(options.owner, instanceId), callOptions.signal);
    if (!info) return failures.get(instanceId);
    if (info.Config?.Labels?.[LABEL.managedBy] !== options.owner) return undefined;
    return observe(e, info, callOptions.signal);
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
    return all
      .filter((c) => c.Labels?.[LABEL.managedBy] === options.owner)
      .map((c) => {
        const o = observeSummary(c);
        if (c.Labels?.[LABEL.transport] === "stdio") {
          o.transport = "streamable-http";
          const url = o.phase === "running" ? bridges.url(o.instanceId, c.Id) : undefined;
          if (url) o.endpoint = url;
        }
        return o;
      });
  }

  async function* logs(instanceId: string, logOptions: LogOptions = {}): AsyncGenerator<LogLine> {
    const e = await connect(logOptions.signal);
    const name = containerName(options.owner, instanceId);
    const info = await inspectByName(e.client, name, logOptions.signal);
    if (!info || info.Config?.Labels?.[LABEL.managedBy] !== options.owner) {
      throw new FleetError("NOT_FOUND", `[${ADAPTER}] no container for instance "${instanceId}"`, {
        path: "instanceId",
      });
    }
    const signal = logOptions.signal ? AbortSignal.any([logOptions.signal, closing.signal]) : closing.signal;
    yield* containerLogs(e.client, name, { ...logOptions, signal });
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
    capabilities: { shared: true, logs: true, watch: true, stdio: true, replicas: false },
    deploy: (request, o) =>
      deploy(request, scoped(o)).catch((err) => Promise.reject(toFleetError(err, "DEPLOY_FAILED"))),
    remove: (id, o) => remove(id, scoped(o)),
    inspect: (id, o) => inspect(id, scoped(o)),
    list: (o) => list(scoped(o)),
    logs,
    watch,
    async connection(o?: CallOptions) {
      return (await connect(o?.signal)).conn;
    },
    containerName: (id) => containerName(options.owner, id),
    close,
    [Symbol.asyncDispose]: close,
  };
}
