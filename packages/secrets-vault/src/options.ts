import type { Logger } from "@mcpfleet/core";
import { isLogger, LOGGER_MESSAGE, optionsError, parseOptions } from "@mcpfleet/core/adapter";
import { z } from "zod";
import type { NodeVaultClient } from "./transport.js";

const ADAPTER = "secrets-vault";
const pathSegment = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const noDots = (s: string) => !s.split("/").some((seg) => seg === "." || seg === "..");

const tokenAuth = z.object({ method: z.literal("token"), token: z.string().min(1) });
const appRoleAuth = z.object({
  method: z.literal("approle"),
  roleId: z.string().min(1),
  secretId: z.string().min(1),
  /** Auth mount path (default `approle`). */
  mount: z.string().regex(pathSegment).default("approle"),
});
const kubernetesAuth = z.object({
  method: z.literal("kubernetes"),
  role: z.string().min(1),
  /** Service-account token file, re-read on every login (projected tokens rotate). */
  jwtPath: z.string().min(1).default("/var/run/secrets/kubernetes.io/serviceaccount/token"),
  mount: z.string().regex(pathSegment).default("kubernetes"),
});

const bytes = z.union([z.string(), z.instanceof(Buffer)]);

export const vaultOptionsSchema = z.object({
  /** Vault address, e.g. `https://vault.example.com:8200`. */
  address: z.url({ protocol: /^https?$/ }),
  auth: z.discriminatedUnion("method", [tokenAuth, appRoleAuth, kubernetesAuth]),
  /** KV v2 mount (default `secret`). */
  mount: z.string().regex(pathSegment).refine(noDots, "must not contain . or .. segments").default("secret"),
  /** Path prefix under the mount; one Vault secret per scope lives at `<prefix>/<scope>` (default `mcpfleet`). */
  prefix: z.string().regex(pathSegment).refine(noDots, "must not contain . or .. segments").default("mcpfleet"),
  /** Vault Enterprise namespace, sent as `X-Vault-Namespace`. */
  namespace: z.string().min(1).optional(),
  tls: z
    .object({
      /** PEM CA bundle(s) to trust. */
      ca: z.union([bytes, z.array(bytes)]).optional(),
      /** Client certificate and key (PEM) for TLS client auth. */
      cert: bytes.optional(),
      key: bytes.optional(),
      /** Disables certificate verification. Refused unless exactly `true`. */
      insecureSkipVerify: z.boolean().optional(),
    })
    .strict()
    .optional(),
  /** Read cache TTL in ms; 0 (default) disables caching. Writes through this store invalidate it. */
  cacheTtlMs: z.number().int().nonnegative().default(0),
  /** Attempts for retryable failures (5xx, 429, network errors). Default 4. */
  maxAttempts: z.number().int().min(1).max(20).default(4),
  /** First backoff delay in ms (doubles each attempt, full jitter, capped at 5 s). Default 100. */
  backoffMs: z.number().int().nonnegative().default(100),
  /** Per-request timeout in ms. Default 10000. */
  requestTimeoutMs: z.number().int().positive().default(10_000),
  /** Check-and-set attempts for concurrent writers on the same scope (jittered). Default 64. */
  casRetries: z.number().int().min(1).default(64),
  /** Fraction of the token TTL after which it is renewed (default 2/3). */
  renewFraction: z
    .number()
    .gt(0)
    .lt(1)
    .default(2 / 3),
  logger: z.custom<Logger>(isLogger, { message: LOGGER_MESSAGE }).optional(),
  /** An already-built node-vault client (tests). Its token is ignored: this store manages tokens. */
  client: z.custom<NodeVaultClient>((v) => typeof v === "object" && v !== null).optional(),
  /** Clock (tests). */
  now: z.custom<() => number>((v) => typeof v === "function").optional(),
});

export type VaultSecretsOptions = z.input<typeof vaultOptionsSchema>;
export type ResolvedVaultOptions = z.output<typeof vaultOptionsSchema>;
export type VaultAuth = ResolvedVaultOptions["auth"];

export function parseVaultOptions(options: VaultSecretsOptions): ResolvedVaultOptions {
  // zod messages describe the expected shape, never echo the input value.
  const parsed = parseOptions(ADAPTER, vaultOptionsSchema, options);
  const tls = parsed.tls;
  if (tls && "insecureSkipVerify" in tls && tls.insecureSkipVerify !== true && tls.insecureSkipVerify !== false) {
    throw optionsError(ADAPTER, "tls.insecureSkipVerify", "must be a boolean");
  }
  if ((tls?.cert === undefined) !== (tls?.key === undefined)) {
    const missing = tls?.cert === undefined ? "tls.cert" : "tls.key";
    throw optionsError(ADAPTER, missing, 'is required with the other of "tls.cert" and "tls.key" (they go together)');
  }
  return parsed;
}
