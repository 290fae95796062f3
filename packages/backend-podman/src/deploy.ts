import { type CallOptions, type DeployRequest, FleetError, type Logger, type ObservedInstance } from "@mcpfleet/core";
import { throwIfAborted } from "@mcpfleet/core/adapter";
import type Dockerode from "dockerode";
import type { Engine } from "./connection.js";
import { createReplica, type ReplicaTarget } from "./create-replica.js";
import { ensureImage, ensureNetwork } from "./engine-ops.js";
import { LABEL } from "./naming.js";
import { observeInspect } from "./observe.js";
import { ADAPTER, type ResolvedOptions } from "./options.js";
import { buildPlan, checkRequest, checkSecrets } from "./plan.js";
import { type Accepted, instanceContainers, nameOf, replicaOf, templateHash } from "./replicas.js";
import type { StdioBridges } from "./stdio-bridges.js";

/** What a deploy shares with the rest of the runtime. */
export interface DeployContext {
  options: ResolvedOptions;
  logger: Logger;
  /** Permanent failures by instance id (`inspect` reports them while no container exists). */
  failures: Map<string, ObservedInstance>;
  /** The last deploy this process settled per instance (see `combine`). */
  accepted: Map<string, Accepted>;
  /** Networks known to exist. */
  networks: Set<string>;
  bridges: StdioBridges;
  connect(signal?: AbortSignal): Promise<Engine>;
  /** One observation from an instance's containers (stdio: its one container through the bridge). */
  observeAll(
    e: Engine,
    instanceId: string,
    infos: Dockerode.ContainerInspectInfo[],
    signal?: AbortSignal,
  ): Promise<ObservedInstance | undefined>;
  removeContainer(e: Engine, name: string, signal?: AbortSignal): Promise<void>;
}

function failed(ctx: DeployContext, request: DeployRequest, reason: string): ObservedInstance {
  const observed: ObservedInstance = {
    instanceId: request.instance.id,
    specHash: request.instance.specHash,
    generation: request.instance.generation,
    phase: "failed",
    reason,
    permanent: true,
  };
  ctx.failures.set(request.instance.id, observed);
  ctx.logger.warn({ instanceId: request.instance.id, reason }, "deploy failed permanently");
  return observed;
}

/**
 * Converges the instance's copies on the request: copies at or above `replicas` are removed
 * (scale down), a copy that is missing, exited or made from another template is (re)created, and
 * the others are kept, so scaling never restarts the copies that stay. The image is pulled per
 * policy (a missing image is a permanent failure), the network and secrets are made, and each copy
 * is created and started (stdio: attached first); a failed create/start removes what it made.
 */
export async function deployInstance(
  ctx: DeployContext,
  request: DeployRequest,
  callOptions: CallOptions = {},
): Promise<ObservedInstance> {
  const { options, logger, failures, accepted, networks, bridges, connect, observeAll, removeContainer } = ctx;
  const { signal } = callOptions;
  throwIfAborted(signal);
  const cspec = checkRequest(request, options.allowedHostPaths);
  const e = await connect(signal);
  checkSecrets(request, e.conn, e.info);
  const id = request.instance.id;
  const desired = cspec.replicas ?? 1;
  const template = templateHash(request);
  const log = logger.child({ instanceId: id });
  const current = new Map<number, Dockerode.ContainerInspectInfo>();
  for (const info of await instanceContainers(e.client, options.owner, id, signal)) {
    const replica = replicaOf(info.Config?.Labels);
    if (replica < desired && !current.has(replica)) current.set(replica, info);
    else {
      log.info({ container: nameOf(info), replica, replicas: desired }, "removing replica (scale down)");
      await removeContainer(e, nameOf(info), signal);
    }
  }
  const keep = (info: Dockerode.ContainerInspectInfo) => {
    const o = observeInspect(info);
    const labels = info.Config?.Labels ?? {};
    const sameTemplate = labels[LABEL.template] === template;
    // a copy published on another host IP (the option changed) is replaced like a changed spec
    const published =
      !labels[LABEL.containerPort] || (labels[LABEL.publishHost] ?? "127.0.0.1") === options.publishHost;
    return o.phase !== "exited" && published && (sameTemplate || o.specHash === request.instance.specHash);
  };
  const todo = Array.from({ length: desired }, (_, i) => i).filter((i) => {
    const info = current.get(i);
    return !info || !keep(info);
  });
  if (todo.length === 0) log.debug({ specHash: request.instance.specHash, replicas: desired }, "all copies current");
  for (const i of todo) {
    const info = current.get(i);
    if (!info) continue;
    const o = observeInspect(info);
    log.info(
      { container: nameOf(info), from: o.specHash, to: request.instance.specHash, phase: o.phase },
      "replacing container",
    );
    await removeContainer(e, nameOf(info), signal);
  }
  if (todo.length > 0) {
    failures.delete(id);
    const image = await ensureImage(e.client, cspec.image, options.pullPolicy, signal);
    if (image.missing) return failed(ctx, request, image.missing);
    const exposed = Object.keys(image.config?.ExposedPorts ?? {}).find((p) => p.endsWith("/tcp"));
    if (!networks.has(options.network)) {
      await ensureNetwork(
        e.client,
        { name: options.network, internal: options.internalNetwork, owner: options.owner },
        logger,
        signal,
      );
      networks.add(options.network);
    }
    const hasSecrets = Object.keys(request.secrets.env).length > 0;
    const target: ReplicaTarget = {
      client: e.client,
      podman: e.info.podman,
      api: e.conn.api,
      bridges,
      removeContainer: (name: string, s?: AbortSignal) => removeContainer(e, name, s),
    };
    for (const replica of todo) {
      const built = buildPlan({
        request,
        spec: cspec,
        options,
        secretMode: hasSecrets ? e.conn.secretMode : "none",
        replica,
        template,
        ...(image.config?.User ? { imageUser: image.config.User } : {}),
        ...(exposed ? { imagePort: Number.parseInt(exposed, 10) } : {}),
      });
      await createReplica(target, id, built, log, signal);
    }
  }
  accepted.set(id, {
    template,
    specHash: request.instance.specHash,
    generation: request.instance.generation,
    replicas: desired,
  });
  const observed = await observeAll(e, id, await instanceContainers(e.client, options.owner, id, signal), signal);
  if (!observed) throw new FleetError("DEPLOY_FAILED", `[${ADAPTER}] the containers of ${id} vanished after start`);
  log.info({ phase: observed.phase, replicas: observed.replicas, created: todo.length }, "instance deployed");
  return observed;
}
