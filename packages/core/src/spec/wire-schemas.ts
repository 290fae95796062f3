import { z } from "zod";
import { isSecretRef, looksLikeSecretRef } from "../secrets/secret-ref.js";
import { parseImageReference } from "./image-ref.js";
import { parseCpuQuantity, parseMemoryQuantity } from "./quantities.js";

/**
 * zod schemas of the wire `json_spec` documents (snake_case, as in the seeds). They validate and
 * collect every issue; `normalize.ts` turns the result into the camelCase types.
 * Unknown keys are tolerated and ignored (docker-compose style documents carry extras).
 */

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const RESERVED_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,252}$/;

/**
 * An object map validated by hand inside zod (much faster than `z.record` for the hot path);
 * each bad key or value is reported at `<map>.<key>`.
 */
function mapOf<V>(
  what: string,
  checkKey: (key: string) => string | undefined,
  checkValue: (value: unknown) => string | undefined,
) {
  return z.custom<Record<string, V>>().superRefine((v, ctx) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      ctx.addIssue({ code: "custom", message: `must be an object of ${what}` });
      return;
    }
    for (const key of Object.keys(v)) {
      const keyError = RESERVED_KEYS.has(key) ? "reserved key is not allowed" : checkKey(key);
      if (keyError) {
        ctx.addIssue({ code: "custom", message: `key ${keyError}`, path: [key] });
        continue;
      }
      const valueError = checkValue((v as Record<string, unknown>)[key]);
      if (valueError) ctx.addIssue({ code: "custom", message: valueError, path: [key] });
    }
  });
}
const secretRefCheck = (v: string) => !looksLikeSecretRef(v) || isSecretRef(v);
const REF_MESSAGE = "malformed secret reference (expected secret_ref:<scope>:<key>, scope and key of [A-Za-z0-9_.-])";

/** Literal (string, number, boolean: stringified later) or secret ref: an error message or undefined. */
export function envValueError(v: unknown): string | undefined {
  if (typeof v === "string") {
    if (v.length > 131072) return "must be at most 128 KiB";
    if (v.includes("\0")) return "must not contain NUL characters";
    return secretRefCheck(v) ? undefined : REF_MESSAGE;
  }
  if (typeof v === "number") return Number.isFinite(v) ? undefined : "must be a finite number";
  return typeof v === "boolean" ? undefined : "must be a string, number or boolean";
}

export const environment = mapOf<string | number | boolean>(
  "variable names to values",
  (k) => (ENV_NAME.test(k) ? undefined : "must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)"),
  envValueError,
);

export const port = z
  .number({ error: "must be an integer from 1 to 65535" })
  .int({ error: "must be an integer from 1 to 65535" })
  .min(1, { error: "must be an integer from 1 to 65535" })
  .max(65535, { error: "must be an integer from 1 to 65535" });

const argv = z
  .array(
    z
      .string({ error: "must be a string" })
      .max(32768)
      .refine((s) => !s.includes("\0"), { error: "must not contain NUL characters" }),
    {
      error: "must be an array of strings",
    },
  )
  .max(1024);
export const command = argv.min(1, { error: "must not be empty" });
export const args = argv;

const seconds = (max: number) =>
  z
    .number({ error: "must be a number of seconds" })
    .gt(0, { error: "must be greater than 0 seconds" })
    .max(max, { error: `must be at most ${max} seconds` });

const httpPath = z
  .string({ error: "must be an HTTP path" })
  .regex(/^\/[^\s#]*$/, { error: "must be an HTTP path starting with / (no spaces)" })
  .max(2048);

export const healthCheck = z.union(
  [
    httpPath,
    z.object({
      path: httpPath.optional(),
      interval: seconds(86400).optional(),
      timeout: seconds(3600).optional(),
      retries: z
        .number({ error: "must be an integer" })
        .int({ error: "must be an integer" })
        .min(1)
        .max(100)
        .optional(),
    }),
  ],
  { error: "must be a path string or an object {path, interval, timeout, retries}" },
);

export const transport = z.enum(["streamable-http", "sse", "stdio"], {
  error: "must be streamable-http, sse or stdio",
});
export const restartPolicy = z.enum(["no", "always", "unless-stopped", "on-failure"], {
  error: "must be no, always, unless-stopped or on-failure",
});

const image = z.string({ error: "must be an image reference string" }).check((ctx) => {
  const v = ctx.value;
  const r = parseImageReference(v);
  if (typeof r === "string") ctx.issues.push({ code: "custom", message: r, input: v });
});

const memoryLimit = z.union([z.string(), z.number()]).superRefine((v, ctx) => {
  const r = parseMemoryQuantity(v);
  if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
});
const cpuLimit = z.union([z.string(), z.number()]).superRefine((v, ctx) => {
  const r = parseCpuQuantity(v);
  if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
});

export const resources = z.object(
  { memory_limit: memoryLimit.optional(), cpu_limit: cpuLimit.optional() },
  { error: "must be an object {memory_limit, cpu_limit}" },
);

const containerPath = z
  .string({ error: "must be an absolute container path" })
  .regex(/^\/[^\0:]*$/, { error: "must be an absolute container path (starting with /, no ':')" })
  .max(4096);
const volumeSource = z
  .string({ error: "must be a host path or volume name" })
  .min(1, { error: "must not be empty" })
  .max(4096)
  .refine((s) => !s.includes("\0"), { error: "must not contain NUL characters" })
  .refine((s) => /^(?:\/|\.\.?(?:\/|$))/.test(s) || /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(s), {
    error: "must be an absolute or ./relative host path, or a volume name ([A-Za-z0-9][A-Za-z0-9_.-]*)",
  });

/** `{"/host": "/container"}`, `{"/host": "/container:ro"}` or docker-py `{"/host": {bind, mode}}`. */
const volumeTargetValue = z.union(
  [
    z
      .string()
      .regex(/^\/[^\0:]*(?::(?:ro|rw))?$/, { error: "must be an absolute container path, optionally with :ro or :rw" }),
    z.object({ bind: containerPath, mode: z.enum(["ro", "rw"]).optional() }),
  ],
  { error: "must be a container path or {bind, mode}" },
);

export const volumes = z.union(
  [
    z.record(z.string(), z.unknown()).superRefine((v, ctx) => {
      for (const key of Object.keys(v)) {
        const src = volumeSource.safeParse(key);
        if (!src.success)
          for (const i of src.error.issues) ctx.addIssue({ code: "custom", message: `key ${i.message}`, path: [key] });
        const dst = volumeTargetValue.safeParse(v[key]);
        if (!dst.success)
          for (const i of dst.error.issues)
            ctx.addIssue({ code: "custom", message: i.message, path: [key, ...i.path] });
      }
    }) as unknown as z.ZodType<Record<string, string | { bind: string; mode?: "ro" | "rw" }>>,
    z
      .array(
        z.object({
          source: volumeSource,
          target: containerPath,
          read_only: z.boolean({ error: "must be a boolean" }).optional(),
        }),
      )
      .max(256),
  ],
  { error: "must be an object {source: target} or an array of {source, target, read_only}" },
);

const labels = mapOf<string>(
  "label keys to strings",
  (k) => (LABEL_KEY.test(k) ? undefined : "must be a label key ([A-Za-z0-9][A-Za-z0-9._/-]*)"),
  (v) => (typeof v !== "string" ? "must be a string" : v.length > 4096 ? "must be at most 4096 characters" : undefined),
);

const replicas = z
  .number({ error: "must be an integer from 1 to 100" })
  .int({ error: "must be an integer from 1 to 100" })
  .min(1, { error: "must be an integer from 1 to 100" })
  .max(100, { error: "must be an integer from 1 to 100" });

const toolPattern = z
  .string({ error: "must be a tool name or glob pattern" })
  .min(1, { error: "must not be empty" })
  .max(200, { error: "must be at most 200 characters" });

/** The tools an instance exposes through the gateway: `allow` globs (default all), then `deny` globs. */
export const toolFilter = z.object(
  {
    allow: z.array(toolPattern, { error: "must be a list of tool name patterns" }).max(256).optional(),
    deny: z.array(toolPattern, { error: "must be a list of tool name patterns" }).max(256).optional(),
  },
  { error: "must be an object {allow, deny} of tool name patterns" },
);

export const dockerWire = z.object({
  type: z.enum(["docker", "container"]),
  image,
  port: port.optional(),
  transport: transport.optional(),
  environment: environment.optional(),
  command: command.optional(),
  args: args.optional(),
  resources: resources.optional(),
  health_check: healthCheck.optional(),
  volumes: volumes.optional(),
  restart_policy: restartPolicy.optional(),
  labels: labels.optional(),
  replicas: replicas.optional(),
  /** Per-request timeout through the gateway, seconds (as url specs have). */
  timeout: seconds(3600).optional(),
  user: z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/, { error: "must be user[:group]" })
    .optional(),
  read_only_root_filesystem: z.boolean({ error: "must be a boolean" }).optional(),
  tools: toolFilter.optional(),
});

const endpoint = z
  .string({ error: "must be an http(s) URL" })
  .max(4096)
  .refine(
    (s) => {
      if (!URL.canParse(s)) return false;
      const u = new URL(s);
      return (u.protocol === "http:" || u.protocol === "https:") && u.hostname.length > 0;
    },
    { error: "must be an absolute http:// or https:// URL" },
  );

function headerValueError(v: unknown): string | undefined {
  if (typeof v !== "string") return "must be a string";
  if (v.length > 8192) return "must be at most 8192 characters";
  if (/[\r\n\0]/.test(v)) return "must not contain CR, LF or NUL";
  return secretRefCheck(v) ? undefined : REF_MESSAGE;
}

export const urlWire = z.object({
  type: z.literal("url"),
  endpoint,
  transport: z.enum(["streamable-http", "sse"], { error: "must be streamable-http or sse" }).optional(),
  health_check: healthCheck.optional(),
  timeout: seconds(3600).optional(),
  authentication: z
    .object(
      {
        type: z.literal("bearer", { error: 'must be "bearer"' }),
        token: z
          .string({ error: "must be a string (a literal token or a secret ref)" })
          .min(1, { error: "must not be empty" })
          .max(8192)
          .refine((v) => !/[\r\n\0]/.test(v), { error: "must not contain CR, LF or NUL" })
          .refine(secretRefCheck, { error: REF_MESSAGE }),
      },
      { error: "must be an object {type: bearer, token}" },
    )
    .optional(),
  headers: mapOf<string>(
    "header names to strings",
    (k) => (HEADER_NAME.test(k) ? undefined : "must be an HTTP header name"),
    headerValueError,
  ).optional(),
  tools: toolFilter.optional(),
});

/** A program name as a string (the ecosystem's `{"command": "npx", "args": [...]}`), or an argv array. */
const processCommand = z.union(
  [
    z
      .string({ error: "must be a program name or an array of strings" })
      .min(1, { error: "must not be empty" })
      .max(4096)
      .refine((s) => !s.includes("\0"), { error: "must not contain NUL characters" }),
    command,
  ],
  { error: "must be a program name (string) or an array of strings" },
);

export const processWire = z
  .object({
    type: z.literal("process"),
    command: processCommand,
    args: args.optional(),
    environment: environment.optional(),
    /** Alias of `environment` (the `mcpServers` configs' key). */
    env: environment.optional(),
    transport: transport.optional(),
    port: port.optional(),
    cwd: z
      .string({ error: "must be a directory path" })
      .min(1)
      .max(4096)
      .refine((s) => !s.includes("\0"), { error: "must not contain NUL" })
      .optional(),
    sandbox: z
      .strictObject(
        { network: z.boolean({ error: "must be true or false" }).optional() },
        { error: "must be an object {network: boolean}" },
      )
      .optional(),
    health_check: healthCheck.optional(),
    /** Per-request timeout through the gateway, seconds (as url specs have). */
    timeout: seconds(3600).optional(),
    restart_policy: restartPolicy.optional(),
    tools: toolFilter.optional(),
  })
  .superRefine((v, ctx) => {
    if (v.env !== undefined && v.environment !== undefined)
      ctx.addIssue({ code: "custom", message: "give env or environment (its alias), not both", path: ["env"] });
  });

/**
 * The keys core reads from a document of an adopter's spec type (`environment` for secret refs and
 * env schemas, `health_check` for probes), checked by the same rules as the built-ins.
 */
export const customCommonWire = z.object({
  environment: environment.optional(),
  health_check: healthCheck.optional(),
  tools: toolFilter.optional(),
});

/** The built-in wire union (`container` is an alias of `docker`). */
export const wireSpecSchema = z.discriminatedUnion("type", [dockerWire, urlWire, processWire]);

export type DockerWire = z.infer<typeof dockerWire>;
export type UrlWire = z.infer<typeof urlWire>;
export type ProcessWire = z.infer<typeof processWire>;
export type HealthCheckWire = z.infer<typeof healthCheck>;
export type VolumesWire = z.infer<typeof volumes>;
export type ToolFilterWire = z.infer<typeof toolFilter>;
