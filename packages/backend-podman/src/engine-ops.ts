import { FleetError, type Logger } from "@mcpfleet/core";
import { throwIfAborted } from "@mcpfleet/core/adapter";
import type Dockerode from "dockerode";
import { engineMessage, isGone, statusOf } from "./engine.js";
import { LABEL, secretPrefix } from "./naming.js";
import { ADAPTER } from "./options.js";
import { removeSecrets } from "./secrets.js";

/** An engine failure as a FleetError (no status = engine unreachable). */
export function wrapEngineError(err: unknown, what: string): FleetError {
  if (FleetError.isInstance(err)) return err;
  if (err instanceof Error && err.name === "AbortError")
    return new FleetError("ABORTED", `${what}: aborted`, { cause: err });
  const code = statusOf(err) === undefined ? "RUNTIME_UNAVAILABLE" : "DEPLOY_FAILED";
  return new FleetError(code, `[${ADAPTER}] ${what}: ${engineMessage(err)}`, { cause: err, isRetryable: true });
}

export async function inspectContainer(client: Dockerode, name: string, signal?: AbortSignal) {
  try {
    return await client.getContainer(name).inspect({ abortSignal: signal });
  } catch (err) {
    if (isGone(err)) return undefined;
    throw wrapEngineError(err, `inspect container ${name}`);
  }
}

/** Stop with the grace period, remove, then remove the container's secrets. Idempotent. */
export async function removeContainer(
  client: Dockerode,
  podman: boolean,
  name: string,
  stopTimeoutSeconds: number,
  signal?: AbortSignal,
): Promise<void> {
  const c = client.getContainer(name);
  try {
    await c.stop({ t: stopTimeoutSeconds, abortSignal: signal });
  } catch (err) {
    const s = statusOf(err);
    if (s !== 304 && s !== 409 && !isGone(err)) throw wrapEngineError(err, `stop container ${name}`);
  }
  try {
    await c.remove({ force: true, v: true, abortSignal: signal });
  } catch (err) {
    if (statusOf(err) !== 409 && !isGone(err)) throw wrapEngineError(err, `remove container ${name}`);
  }
  if (podman) {
    await removeSecrets(client, secretPrefix(name), podman, signal).catch((err) => {
      throw wrapEngineError(err, `remove secrets of ${name}`);
    });
  }
}

export type PullPolicy = "if-not-present" | "always" | "never";

/** Image present (pulling per policy)? Returns the image's config, or a permanent failure reason. */
export async function ensureImage(
  client: Dockerode,
  image: string,
  pullPolicy: PullPolicy,
  signal?: AbortSignal,
): Promise<{ config?: Dockerode.ImageInspectInfo["Config"]; missing?: string }> {
  const inspect = async () => {
    try {
      return await client.getImage(image).inspect();
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw wrapEngineError(err, `inspect image ${image}`);
    }
  };
  let found = pullPolicy === "always" ? undefined : await inspect();
  if (found) return { config: found.Config };
  if (pullPolicy === "never") return { missing: `image "${image}" is not present and pullPolicy is "never"` };
  try {
    const stream = await client.pull(image, { abortSignal: signal });
    await new Promise<void>((res, rej) => client.modem.followProgress(stream, (err) => (err ? rej(err) : res())));
  } catch (err) {
    throwIfAborted(signal);
    found = await inspect();
    if (found) return { config: found.Config }; // `always` with an unreachable registry: use the local copy
    return { missing: `image "${image}" not found and could not be pulled: ${engineMessage(err)}` };
  }
  found = await inspect();
  return found ? { config: found.Config } : { missing: `image "${image}" not found after pull` };
}

/** Creates the network when missing (a concurrent creation is fine). */
export async function ensureNetwork(
  client: Dockerode,
  network: { name: string; internal: boolean; owner: string },
  logger: Logger,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await client.getNetwork(network.name).inspect();
  } catch (err) {
    if (statusOf(err) !== 404) throw wrapEngineError(err, `inspect network ${network.name}`);
    try {
      await client.createNetwork({
        Name: network.name,
        Internal: network.internal,
        CheckDuplicate: true,
        Labels: { [LABEL.managedBy]: network.owner },
        abortSignal: signal,
      });
      logger.debug({ network: network.name }, "network created");
    } catch (createErr) {
      if (statusOf(createErr) !== 409) throw wrapEngineError(createErr, `create network ${network.name}`);
    }
  }
}
