import { z } from "zod";

/**
 * The official MCP Registry's `server.json` (schema `2025-12-11`, as published in the registry
 * repository's `server.schema.json`), written as zod: the same required fields, formats, patterns and
 * length limits. Unknown keys are kept (the schema does not forbid them), `_meta` is opaque.
 */
export const REGISTRY_SCHEMA_VERSION = "2025-12-11";

const uri = z.string({ error: "must be a string" }).refine((s) => URL.canParse(s), { error: "must be a URI" });
const str = z.string({ error: "must be a string" });
/** Version ranges are refused by the registry (`^1.2.3`, `~1.2.3`, `>=1.2.3`, `1.x`, `1.*`). */
const notRange = (s: string) => !/^[\^~<>=]|(^|\.)[x*X](\.|$)|\s-\s|\|\|/.test(s);

export const inputSchema = z.looseObject({
  choices: z.array(str, { error: "must be an array of strings" }).optional(),
  default: str.optional(),
  description: str.optional(),
  format: z
    .enum(["string", "number", "boolean", "filepath"], { error: "must be string, number, boolean or filepath" })
    .optional(),
  isRequired: z.boolean({ error: "must be a boolean" }).optional(),
  isSecret: z.boolean({ error: "must be a boolean" }).optional(),
  placeholder: str.optional(),
  value: str.optional(),
});
export const inputWithVariables = inputSchema.extend({
  variables: z.record(str, inputSchema, { error: "must be an object of variable names to inputs" }).optional(),
});
export const keyValueInput = inputWithVariables.extend({ name: str.min(1, { error: "must not be empty" }) });

export const positionalArgument = inputWithVariables
  .extend({
    type: z.literal("positional"),
    valueHint: str.optional(),
    isRepeated: z.boolean({ error: "must be a boolean" }).optional(),
  })
  .refine((a) => a.valueHint !== undefined || a.value !== undefined, {
    error: "a positional argument needs valueHint or value",
    path: ["valueHint"],
  });
export const namedArgument = inputWithVariables.extend({
  type: z.literal("named"),
  name: str.min(1, { error: "must not be empty" }),
  isRepeated: z.boolean({ error: "must be a boolean" }).optional(),
});
export const argument = z.discriminatedUnion("type", [positionalArgument, namedArgument], {
  error: 'must be an argument with type "positional" or "named"',
});

const URL_TEMPLATE = /^(https?:\/\/[^\s]+|\{[a-zA-Z_][a-zA-Z0-9_]*\}[^\s]*)$/;
const urlTemplate = str.regex(URL_TEMPLATE, {
  error: "must start with http://, https:// or a {variable}, without spaces",
});
const stdioTransport = z.looseObject({ type: z.literal("stdio") });
const httpTransport = z.looseObject({
  type: z.literal("streamable-http"),
  url: urlTemplate,
  headers: z.array(keyValueInput, { error: "must be an array of {name, ...}" }).optional(),
});
const sseTransport = httpTransport.extend({ type: z.literal("sse") });
export const localTransport = z.discriminatedUnion("type", [stdioTransport, httpTransport, sseTransport], {
  error: "must be a transport with type stdio, streamable-http or sse",
});
const remoteVariables = z.record(str, inputSchema, { error: "must be an object of variable names to inputs" });
export const remoteTransport = z.discriminatedUnion(
  "type",
  [
    httpTransport.extend({ variables: remoteVariables.optional() }),
    sseTransport.extend({ variables: remoteVariables.optional() }),
  ],
  { error: "must be a remote with type streamable-http or sse" },
);

export const packageSchema = z.looseObject({
  registryType: str.min(1, { error: "must not be empty" }),
  identifier: str.min(1, { error: "must not be empty" }),
  version: str
    .min(1, { error: "must not be empty" })
    .max(255, { error: "must be at most 255 characters" })
    .refine((v) => v !== "latest", { error: 'must be a specific version, not "latest"' })
    .refine(notRange, { error: "must be a specific version, not a range" })
    .optional(),
  registryBaseUrl: uri.optional(),
  fileSha256: str.regex(/^[a-f0-9]{64}$/, { error: "must be 64 lowercase hex digits" }).optional(),
  runtimeHint: str.optional(),
  transport: localTransport,
  runtimeArguments: z.array(argument, { error: "must be an array of arguments" }).optional(),
  packageArguments: z.array(argument, { error: "must be an array of arguments" }).optional(),
  environmentVariables: z.array(keyValueInput, { error: "must be an array of {name, ...}" }).optional(),
});

const icon = z.looseObject({
  src: uri
    .refine((s) => s.startsWith("https://"), { error: "must be an https URL" })
    .refine((s) => s.length <= 255, { error: "must be at most 255 characters" }),
  mimeType: z
    .enum(["image/png", "image/jpeg", "image/jpg", "image/svg+xml", "image/webp"], { error: "unsupported MIME type" })
    .optional(),
  sizes: z.array(str.regex(/^(\d+x\d+|any)$/, { error: "must be WxH or any" })).optional(),
  theme: z.enum(["light", "dark"], { error: "must be light or dark" }).optional(),
});

export const registryServerSchema = z.looseObject({
  $schema: uri.optional(),
  name: str
    .min(3, { error: "must be 3-200 characters" })
    .max(200, { error: "must be 3-200 characters" })
    .regex(/^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/, {
      error: "must be reverse-DNS namespace/name with exactly one '/' (io.github.user/weather)",
    }),
  description: str.min(1, { error: "must not be empty" }).max(100, { error: "must be at most 100 characters" }),
  version: str
    .min(1, { error: "must not be empty" })
    .max(255, { error: "must be at most 255 characters" })
    .refine(notRange, { error: "must be a specific version, not a range" }),
  title: str.min(1, { error: "must not be empty" }).max(100, { error: "must be at most 100 characters" }).optional(),
  websiteUrl: uri.optional(),
  repository: z
    .looseObject(
      { url: uri, source: str, id: str.optional(), subfolder: str.optional() },
      { error: "must be an object" },
    )
    .optional(),
  icons: z.array(icon, { error: "must be an array of icons" }).optional(),
  packages: z.array(packageSchema, { error: "must be an array of packages" }).optional(),
  remotes: z.array(remoteTransport, { error: "must be an array of remotes" }).optional(),
  _meta: z.record(str, z.unknown(), { error: "must be an object" }).optional(),
});

export type RegistryServerJson = z.infer<typeof registryServerSchema>;
export type RegistryPackage = z.infer<typeof packageSchema>;
export type RegistryArgument = z.infer<typeof argument>;
export type RegistryInput = z.infer<typeof inputSchema>;
export type RegistryKeyValue = z.infer<typeof keyValueInput>;
export type RegistryRemote = z.infer<typeof remoteTransport>;
