import type { Logger } from "@mcpfleet/core";
import { isLogger, LOGGER_MESSAGE, parseOptions } from "@mcpfleet/core/adapter";
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

/** A DNS name or an IPv4 address (letters, digits, dots, hyphens), or an IPv6 address: safe in a URL's host. */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

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
    /**
     * The host IP container ports are published on and stdio bridges listen on (default `127.0.0.1`).
     * `0.0.0.0` / `::` publish on every interface.
     */
    publishHost: z
      .union([z.ipv4(), z.ipv6()], { error: "must be an IP address of this host (0.0.0.0 for every interface)" })
      .default("127.0.0.1"),
    /**
     * The host name or address other machines reach published ports on: the host part of every
     * endpoint this runtime reports. Default: `publishHost`, or `127.0.0.1` when that is `0.0.0.0`/`::`.
     */
    advertiseHost: z
      .union([z.ipv6(), z.string().regex(HOST_NAME)], { error: "must be a host name or an IP address" })
      .optional(),
    defaultMemory: quantity.default("512m"),
    defaultCpus: z.number().positive().default(1),
    user: z.string().min(1).optional(),
    readOnlyRootFilesystem: z.boolean().default(false),
    allowedHostPaths: z.array(z.string().startsWith("/")).default([]),
    stopTimeoutSeconds: z.number().int().min(0).max(600).default(10),
    secretMode: z.enum(["auto", "podman-env", "podman-mount", "plain-env"]).default("auto"),
    secretsDir: z.string().startsWith("/").default("/run/secrets"),
    api: z.enum(["auto", "libpod", "compat"]).default("auto"),
    hostPortFor: z
      .custom<(instanceId: string, replica: number) => number | undefined>((v) => typeof v === "function")
      .optional(),
    /**
     * When a replicated instance counts as running: `all` copies running (default; a copy that
     * exits or vanishes reports the instance `exited`, so the reconciler's restart policy applies), or
     * `any` (at least one running; the others come back on the next deploy).
     */
    replicaHealth: z.enum(["all", "any"]).default("all"),
    pingTimeoutMs: z.number().int().positive().default(1500),
    docker: z.custom<Dockerode>((v) => typeof v === "object" && v !== null).optional(),
    env: z.record(z.string(), z.string().optional()).optional(),
    logger: z.custom<Logger>(isLogger, { message: LOGGER_MESSAGE }).optional(),
  })
  .strict();

export type PodmanRuntimeOptions = z.input<typeof optionsSchema>;
export type ResolvedOptions = z.output<typeof optionsSchema> & {
  defaultMemoryBytes: number;
  /** The host part of endpoint URLs (IPv6 in brackets). */
  endpointHost: string;
};

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `512m`, `1g`, `256Mi`, `1048576` -> bytes (binary units, as Docker/Podman read them). */
export function parseMemory(value: number | string): number {
  if (typeof value === "number") return Math.floor(value);
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)/.exec(value);
  if (!m) return Number.NaN;
  return Math.floor(Number(m[1]) * (UNITS[(m[2] ?? "").toLowerCase()] ?? 1));
}

export function resolveOptions(input: PodmanRuntimeOptions = {}): ResolvedOptions {
  const parsed = parseOptions("backend-podman", optionsSchema, input);
  const advertise =
    parsed.advertiseHost ?? (["0.0.0.0", "::"].includes(parsed.publishHost) ? "127.0.0.1" : parsed.publishHost);
  return {
    ...parsed,
    defaultMemoryBytes: parseMemory(parsed.defaultMemory),
    endpointHost: advertise.includes(":") ? `[${advertise}]` : advertise,
  };
}
