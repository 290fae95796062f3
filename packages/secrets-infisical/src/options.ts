import type { InfisicalSDK } from "@infisical/sdk";
import type { Logger } from "@mcpfleet/core";
import { isLogger, LOGGER_MESSAGE, parseOptions } from "@mcpfleet/core/adapter";
import { z } from "zod";

const folderPath = /^(\/[A-Za-z0-9_-]+)*$/;

export const infisicalOptionsSchema = z.object({
  /** Infisical URL (default `https://app.infisical.com`; EU cloud `https://eu.infisical.com`, or self-hosted). */
  siteUrl: z.url({ protocol: /^https?$/ }).default("https://app.infisical.com"),
  /** Machine identity with Universal Auth. */
  auth: z.object({ clientId: z.string().min(1), clientSecret: z.string().min(1) }).strict(),
  projectId: z.string().min(1),
  /** Environment slug, e.g. `dev`, `prod`. */
  environment: z.string().regex(/^[A-Za-z0-9_-]+$/),
  /** Folder holding one sub-folder per scope (default `/mcpfleet`, so scope `s` lives in `/mcpfleet/s`). */
  pathPrefix: z
    .string()
    .regex(folderPath, "must look like /a/b (folder names: letters, digits, - and _)")
    .default("/mcpfleet"),
  /** Read cache TTL in ms; 0 (default) disables caching. Writes through this store invalidate it. */
  cacheTtlMs: z.number().int().nonnegative().default(0),
  /** Attempts for retryable HTTP failures (5xx, 429). Network errors are retried inside @infisical/sdk. Default 3. */
  maxAttempts: z.number().int().min(1).max(20).default(3),
  /** First backoff delay in ms (doubles, full jitter, capped at 5 s). Default 200. */
  backoffMs: z.number().int().nonnegative().default(200),
  /** Timeout for the login and folder calls this store makes itself. Default 10000. */
  requestTimeoutMs: z.number().int().positive().default(10_000),
  /** Fraction of the access token's lifetime after which the store logs in again (default 0.8). */
  reloginFraction: z.number().gt(0).lt(1).default(0.8),
  logger: z.custom<Logger>(isLogger, { message: LOGGER_MESSAGE }).optional(),
  /** An `InfisicalSDK` for the secrets calls (tests); it must point at `siteUrl`. */
  sdk: z.custom<InfisicalSDK>((v) => typeof v === "object" && v !== null).optional(),
  /** Clock (tests). */
  now: z.custom<() => number>((v) => typeof v === "function").optional(),
});

export type InfisicalSecretsOptions = z.input<typeof infisicalOptionsSchema>;
export type ResolvedInfisicalOptions = z.output<typeof infisicalOptionsSchema>;

export function parseInfisicalOptions(options: InfisicalSecretsOptions): ResolvedInfisicalOptions {
  const parsed = parseOptions("secrets-infisical", infisicalOptionsSchema, options);
  return { ...parsed, siteUrl: parsed.siteUrl.replace(/\/+$/, "") };
}
