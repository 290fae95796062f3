import { resolve } from "node:path";
import { z } from "zod";

/**
 * Environment configuration of the host, validated once at start. Every problem is reported at once
 * with the variable's name (`FLEET_BUS: must be one of memory, redis, nats`).
 */

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", "on", "off"], { error: "must be true or false" })
  .transform((v) => ["1", "true", "yes", "on"].includes(v));
const int = (min: number, max: number) =>
  z.coerce
    .number({ error: "must be a number" })
    .int({ error: "must be an integer" })
    .min(min, { error: `must be >= ${min}` })
    .max(max, { error: `must be <= ${max}` });
const list = z.string().transform((v) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);
const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { error: `must be a URL (${protocols.join(" or ")})` },
  );

export const envSchema = z.object({
  FLEET_RUNTIME: z
    .enum(["auto", "process", "podman", "k8s", "memory"], {
      error: "must be one of auto, process, podman, k8s, memory",
    })
    .default("auto"),
  FLEET_BUS: z.enum(["memory", "redis", "nats"], { error: "must be one of memory, redis, nats" }).default("memory"),
  FLEET_SECRETS: z
    .enum(["file", "env", "vault", "infisical", "memory"], {
      error: "must be one of file, env, vault, infisical, memory",
    })
    .default("file"),
  FLEET_STORE: z.enum(["file", "memory"], { error: "must be one of file, memory" }).default("file"),
  FLEET_ROLE: z.enum(["all", "api"], { error: "must be all or api" }).default("all"),
  WORKER_ID: z.string().min(1).max(200).optional(),
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATA_DIR: z.string().min(1).default(".mcpfleet"),
  TEMPLATES_DIR: z.string().min(1).optional(),
  LOG_LEVEL: z
    .enum(["debug", "info", "warn", "error", "silent"], { error: "must be debug, info, warn, error or silent" })
    .default("info"),
  // auth
  AUTH: z.enum(["keys", "disabled"], { error: "must be keys or disabled" }).default("keys"),
  API_KEYS: z.string().optional(),
  API_KEYS_FILE: z.string().min(1).optional(),
  AUDIT_LOG: z.string().min(1).optional(),
  CORS_ORIGINS: list.default([]),
  RATE_LIMIT_RPS: z.coerce.number({ error: "must be a number" }).positive({ error: "must be > 0" }).default(20),
  RATE_LIMIT_BURST: int(1, 1_000_000).default(60),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, { error: "must look like 1mb or 512kb" })
    .default("1mb"),
  // runtime adapters
  CONTAINER_HOST: z.string().min(1).optional(),
  DOCKER_HOST: z.string().min(1).optional(),
  KUBECONFIG: z.string().min(1).optional(),
  K8S_NAMESPACE: z.string().min(1).optional(),
  PODMAN_OWNER: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, { error: "must be 1-63 characters of [a-zA-Z0-9_.-]" })
    .optional(),
  PODMAN_NETWORK: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, { error: "must be a network name" })
    .optional(),
  ALLOWED_HOST_PATHS: list.default([]),
  ALLOW_UNSAFE_ENDPOINTS: bool.default(false),
  // bus adapters
  REDIS_URL: url(["redis:", "rediss:"]).optional(),
  REDIS_PREFIX: z.string().max(200).optional(),
  NATS_URL: url(["nats:", "tls:", "ws:", "wss:"]).optional(),
  NATS_STREAM: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { error: "must be a JetStream stream name" })
    .optional(),
  NATS_SUBJECT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, { error: "must be a subject prefix" })
    .optional(),
  // secret adapters
  SECRETS_FILE: z.string().min(1).optional(),
  SECRETS_KEY: z
    .string()
    .min(8, { error: "must be a 32-byte key (64 hex or base64) or a passphrase of at least 8 characters" })
    .optional(),
  SECRETS_ENV_PREFIX: z.string().optional(),
  VAULT_ADDR: url(["http:", "https:"]).optional(),
  VAULT_TOKEN: z.string().min(1).optional(),
  VAULT_NAMESPACE: z.string().min(1).optional(),
  VAULT_MOUNT: z.string().min(1).optional(),
  INFISICAL_SITE_URL: url(["http:", "https:"]).optional(),
  INFISICAL_CLIENT_ID: z.string().min(1).optional(),
  INFISICAL_CLIENT_SECRET: z.string().min(1).optional(),
  INFISICAL_PROJECT_ID: z.string().min(1).optional(),
  INFISICAL_ENVIRONMENT: z.string().min(1).optional(),
  // engine tuning
  RECONCILE_CONCURRENCY: int(1, 1024).optional(),
  RESYNC_INTERVAL_MS: int(10, 86_400_000).optional(),
  RECONCILE_BACKOFF_MS: int(0, 600_000).optional(),
  MAX_RESTARTS: int(0, 1000).optional(),
  HEALTH_INTERVAL_MS: int(10, 86_400_000).optional(),
  HEALTH_TIMEOUT_MS: int(1, 600_000).optional(),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
});

type Env = z.infer<typeof envSchema>;

export interface HostConfig extends Env {
  /** Absolute data directory. */
  dataDir: string;
  storePath: string;
  secretsPath: string;
  keysPath: string;
  auditPath: string;
}

/** The variables that must be set for a chosen adapter. */
const REQUIRED_BY: Array<[keyof Env, string, (e: Env) => boolean]> = [
  ["REDIS_URL", "FLEET_BUS=redis", (e) => e.FLEET_BUS === "redis"],
  ["NATS_URL", "FLEET_BUS=nats", (e) => e.FLEET_BUS === "nats"],
  ["VAULT_ADDR", "FLEET_SECRETS=vault", (e) => e.FLEET_SECRETS === "vault"],
  ["VAULT_TOKEN", "FLEET_SECRETS=vault", (e) => e.FLEET_SECRETS === "vault"],
  ["INFISICAL_CLIENT_ID", "FLEET_SECRETS=infisical", (e) => e.FLEET_SECRETS === "infisical"],
  ["INFISICAL_CLIENT_SECRET", "FLEET_SECRETS=infisical", (e) => e.FLEET_SECRETS === "infisical"],
  ["INFISICAL_PROJECT_ID", "FLEET_SECRETS=infisical", (e) => e.FLEET_SECRETS === "infisical"],
];

export class ConfigError extends Error {
  constructor(readonly issues: Array<{ variable: string; message: string }>) {
    super(`invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parses the environment; throws `ConfigError` listing every bad variable (never their values).
 * Relative paths resolve against the directory the command was started from (`INIT_CWD`, set by
 * pnpm/npm scripts, else the working directory), so `pnpm --filter … start` at the repo root keeps
 * its data in `./.mcpfleet` there.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = env.INIT_CWD || process.cwd()): HostConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? "(env)"), message: i.message })),
    );
  }
  const e = parsed.data;
  const issues = REQUIRED_BY.filter(([name, , when]) => when(e) && e[name] === undefined).map(([name, why]) => ({
    variable: name,
    message: `is required with ${why}`,
  }));
  if (e.FLEET_ROLE === "api" && e.FLEET_BUS === "memory") {
    issues.push({
      variable: "FLEET_BUS",
      message: "FLEET_ROLE=api needs a shared bus (redis or nats) so workers see its events",
    });
  }
  if (e.FLEET_ROLE === "api" && e.FLEET_STORE === "memory") {
    issues.push({ variable: "FLEET_STORE", message: "FLEET_ROLE=api needs the shared file store" });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const dataDir = resolve(cwd, e.DATA_DIR);
  return {
    ...e,
    dataDir,
    storePath: resolve(dataDir, "store.json"),
    secretsPath: resolve(cwd, e.SECRETS_FILE ?? resolve(dataDir, "secrets.enc")),
    keysPath: resolve(cwd, e.API_KEYS_FILE ?? resolve(dataDir, "api-keys.json")),
    auditPath: resolve(cwd, e.AUDIT_LOG ?? resolve(dataDir, "audit.log")),
  };
}
