import type Dockerode from "dockerode";
import { dial, isGone, statusOf } from "./engine.js";

/**
 * Creates Podman secrets (Docker-compatible `POST /secrets/create`, which Podman serves without swarm).
 * Values travel only in the request body; they never appear in errors (engine messages do not echo them).
 */
export async function createSecrets(client: Dockerode, secrets: { name: string; value: string }[]): Promise<void> {
  for (const s of secrets) {
    await client.createSecret({ Name: s.name, Data: Buffer.from(s.value, "utf8").toString("base64") });
  }
}

/** Removes every secret whose name starts with `prefix`. Idempotent. */
export async function removeSecrets(
  client: Dockerode,
  prefix: string,
  podman: boolean,
  signal?: AbortSignal,
): Promise<number> {
  let list: { ID?: string; Spec?: { Name?: string } }[];
  try {
    list = (await client.listSecrets({ abortSignal: signal })) as typeof list;
  } catch (err) {
    // Docker outside swarm has no secrets API: nothing of ours can exist there
    if (statusOf(err) === 503) return 0;
    throw err;
  }
  let removed = 0;
  for (const s of list) {
    if (!s.ID || !s.Spec?.Name?.startsWith(prefix)) continue;
    try {
      // Podman 4.3 does not serve the compat DELETE /secrets/{id}; libpod's endpoint does the same
      if (podman) {
        await dial(client, {
          path: `/v4.0.0/libpod/secrets/${encodeURIComponent(s.ID)}`,
          method: "DELETE",
          statusCodes: { 204: true, 404: "no such secret", 500: "server error" },
          ...(signal ? { signal } : {}),
        });
      } else await client.getSecret(s.ID).remove();
      removed++;
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }
  return removed;
}
