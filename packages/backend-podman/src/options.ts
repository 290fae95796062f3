import { FleetError, type Logger } from "@mcpfleet/core";
import type Dockerode from "dockerode";
import { z } from "zod";

export const ADAPTER = "mcpfleet/backend-podman";

/**
 * How resolved secret env values reach the container.
 * - `auto`: `podman-env` on Podman >= 5.3, `podman-mount` on older Podman, refused on Docker (no secrets API outside swarm).
 * - `podman-env`: a Podman secret exposed as an env var (`secret_env`). Podman < 5.3 shows the value in `inspect`
 *   (containers/podman#23788), so `auto` never picks it there.
 * - `podman-mount`: a Podman secret mounted read-only at `<secretsDir>/<ENV_NAME>`, with `<ENV_NAME>_FILE` set to that path.
 * - `plain-env`: plain environment variables, visible in `inspect`. Only when chosen explicitly.
 */
export type SecretMode = "auto" | "podman-env" | "podman-mount" | "plain-env";

const quantity = z.union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?\s*([kKmMgG]i?[bB]?)?$/)]);

const optionsSchema = z
  .object({
    socketPath: z.string().min(1).optional(),
    owner: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, "must be 1-63 chars of [a-zA-Z0-9_.-], starting alphanumeric")
      .default("mcpfleet"),
    pullPolicy: z.enum(["if-not-present", "always", "never"]).default("if-not-present"),
    network: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/)
      .default("mcpfleet"),
    internalNetwork: z.boolean().default(false),
    endpointPath: z.string().startsWith("/").optional(),
    defaultMemory: quantity.default("512m"),
    defaultCpus: z.number().positive().default(1),
    user: z.string().min(1).optional(),
    readOnlyRootFilesystem: z.boolean().default(false),
    allowedHostPaths: z.array(z.string().startsWith("/")).default([]),
    stopTimeoutSeconds: z.number().int().min(0).max(600).default(10),
    secretMode: z.enum(["auto", "podman-env", "podman-mount", "plain-env"]).default("auto"),
    secretsDir: z.string().startsWith("/").default("/run/secrets"),
    api: z.enum(["auto", "libpod", "compat"]).default("auto"),
    hostPortFor: z.custom<(instanceId: string) => number | undefined>((v) => typeof v === "function").optional(),
    pingTimeoutMs: z.number().int().positive().default(1500),
    docker: z.custom<Dockerode>((v) => typeof v === "object" && v !== null).optional(),
    env: z.record(z.string(), z.string().optional()).optional(),
    logger: z.custom<Logger>((v) => typeof v === "object" && v !== null).optional(),
  })
  .strict();

export type PodmanRuntimeOptions = z.input<typeof optionsSchema>;
export type ResolvedOptions = z.output<typeof optionsSchema> & { defaultMemoryBytes: number };

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `512m`, `1g`, `256Mi`, `1048576` -> bytes (binary units, as Docker/Podman read them). */
export function parseMemory(value: number | string): number {
  if (typeof value === "number") return Math.floor(value);
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)/.exec(value);
  if (!m) return Number.NaN;
  return Math.floor(Number(m[1]) * (UNITS[(m[2] ?? "").toLowerCase()] ?? 1));
}

export function resolveOptions(input: PodmanRuntimeOptions = {}): ResolvedOptions {
  const parsed = optionsSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join(".") || "(root)", message: i.message }));
    const first = issues[0];
    throw new FleetError(
      "OPTIONS_INVALID",
      `[${ADAPTER}] option "${first?.path}" ${first?.message}${issues.length > 1 ? ` (+${issues.length - 1} more)` : ""}`,
      { path: first?.path, issues, isRetryable: false },
    );
  }
  return { ...parsed.data, defaultMemoryBytes: parseMemory(parsed.data.defaultMemory) };
}
