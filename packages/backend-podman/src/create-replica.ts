import type { Logger } from "@mcpfleet/core";
import type Dockerode from "dockerode";
import type { ContainerPlan } from "./create-body.js";
import { compatCreateOptions, libpodCreateBody } from "./create-body.js";
import { dial, engineMessage } from "./engine.js";
import { wrapEngineError } from "./engine-ops.js";
import { secretPrefix } from "./naming.js";
import { createSecrets, removeSecrets } from "./secrets.js";
import type { PendingBridge, StdioBridges } from "./stdio-bridges.js";

export interface ReplicaTarget {
  client: Dockerode;
  podman: boolean;
  api: "libpod" | "compat";
  bridges: StdioBridges;
  /** Stop + remove + secrets (idempotent). */
  removeContainer(name: string, signal?: AbortSignal): Promise<void>;
}

/**
 * Creates and starts one container from its plan: its secrets first, the container (libpod or
 * compat create), the stdio attach before start when it has one. On failure the container and its
 * bridge are removed and the engine error is thrown as a FleetError.
 */
export async function createReplica(
  target: ReplicaTarget,
  instanceId: string,
  built: { plan: ContainerPlan; secrets: { name: string; value: string }[] },
  log: Logger,
  signal?: AbortSignal,
): Promise<void> {
  const { client } = target;
  const { plan, secrets } = built;
  let pending: PendingBridge | undefined;
  try {
    if (secrets.length) await removeSecrets(client, secretPrefix(plan.name), target.podman, signal);
    await createSecrets(client, secrets);
    let containerId: string;
    if (target.api === "libpod") {
      ({ Id: containerId } = await dial<{ Id: string }>(client, {
        path: "/v4.0.0/libpod/containers/create",
        method: "POST",
        body: libpodCreateBody(plan),
        statusCodes: { 201: true, 400: "bad parameter", 404: "no such image", 409: "conflict", 500: "server error" },
        signal,
      }));
    } else {
      containerId = (await client.createContainer({ ...compatCreateOptions(plan), abortSignal: signal })).id;
    }
    // stdio: attach before start so the server's first output is not lost
    if (plan.openStdin) pending = await target.bridges.attach(client, instanceId, containerId, signal);
    await client.getContainer(plan.name).start({ abortSignal: signal });
    if (pending) await pending.serve();
  } catch (err) {
    log.warn({ container: plan.name, err: engineMessage(err) }, "create/start failed, cleaning up");
    if (plan.openStdin) await target.bridges.drop(instanceId);
    await target.removeContainer(plan.name).catch(() => {});
    throw wrapEngineError(err, `create container ${plan.name}`);
  }
}
