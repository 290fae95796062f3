import { z } from "zod";
import { FleetError, type FleetIssue, specInvalid } from "../errors.js";
import { extractSecrets } from "../secrets/extract.js";
import { isRecord, reservedKeyIssues, zodIssues } from "../spec/issues.js";
import { parseInstanceSpec } from "../spec/parse-spec.js";
import type { ImportedInstance, ImportPlan, SecretPrompt, SecretSlot } from "./imported.js";
import { uniqueInstanceName } from "./instance-name.js";
import { findPlaceholders, isCredentialEnv, isCredentialHeader } from "./placeholders.js";

const str = z.string({ error: "must be a string" });
const entrySchema = z.looseObject({
  type: z
    .enum(["stdio", "http", "sse", "streamable-http", "streamableHttp"], {
      error: "must be stdio, http, streamable-http or sse",
    })
    .optional(),
  command: str.min(1, { error: "must not be empty" }).max(4096).optional(),
  args: z.array(str.max(32768), { error: "must be an array of strings" }).max(1024).optional(),
  env: z.record(str, z.union([str, z.number(), z.boolean()]), { error: "must be an object of strings" }).optional(),
  cwd: str.min(1).max(4096).optional(),
  url: str.max(4096).optional(),
  /** Windsurf's key for a remote server. */
  serverUrl: str.max(4096).optional(),
  headers: z.record(str, str, { error: "must be an object of strings" }).optional(),
  envFile: z.unknown().optional(),
  disabled: z.boolean({ error: "must be a boolean" }).optional(),
});
type Entry = z.infer<typeof entrySchema>;

const inputSchema = z.looseObject({
  id: str.regex(/^[A-Za-z0-9_.-]{1,128}$/, { error: "must be 1-128 of [A-Za-z0-9_.-]" }),
  type: str.optional(),
  description: str.max(4096).optional(),
  password: z.boolean().optional(),
});

/** Servers one document may describe. */
export const MAX_IMPORTED_SERVERS = 256;
const serversMap = z
  .record(str.min(1, { error: "server names must not be empty" }).max(256), z.unknown(), {
    error: "must be an object of server names to entries",
  })
  .refine((m) => Object.keys(m).length <= MAX_IMPORTED_SERVERS, {
    error: `must describe at most ${MAX_IMPORTED_SERVERS} servers`,
  });

/**
 * Reads an MCP client configuration document into instance inputs:
 * - Claude Desktop / Cursor / Windsurf / Claude Code: `{ "mcpServers": { name: entry } }`;
 * - VS Code: `{ "servers": { name: entry }, "inputs": [...] }` (or `{ "mcp": { servers, inputs } }` in settings.json).
 *
 * `command`/`args`/`env`/`cwd` entries become `process` specs; `url` (Windsurf: `serverUrl`) entries
 * with type `http`/`streamable-http`/`sse` become `url` specs. `${input:id}` and `${env:NAME}` placeholders
 * become required secrets ({@link ImportPlan.prompts}); credentials written as literals (credential headers
 * such as `Authorization`, env vars named like `*_TOKEN` / `*_API_KEY`) go to the secret store; neither is
 * ever kept in the spec. Names are sanitized to the instance name grammar. Bad documents: `SPEC_INVALID`
 * listing every issue with its path (`mcpServers.github.args.1`).
 */
export function parseMcpServersConfig(doc: unknown): ImportPlan {
  if (!isRecord(doc)) throw specInvalid([{ path: "", message: "must be an object" }], "MCP servers config");
  const issues: FleetIssue[] = reservedKeyIssues(doc);
  let root: Record<string, unknown> = doc;
  let prefix = "";
  if (!("mcpServers" in doc) && !("servers" in doc) && isRecord(doc.mcp)) {
    root = doc.mcp;
    prefix = "mcp.";
  }
  const format = "mcpServers" in root ? "mcpServers" : "servers" in root ? "vscode" : undefined;
  if (!format)
    throw specInvalid([{ path: "", message: 'must have "mcpServers" or "servers" (VS Code)' }], "MCP servers config");
  const key = format === "mcpServers" ? "mcpServers" : "servers";
  const base = `${prefix}${key}`;
  const servers = serversMap.safeParse(root[key]);
  if (!servers.success) throw specInvalid(zodIssues(servers.error.issues, base), "MCP servers config");
  const inputs = new Map<string, z.infer<typeof inputSchema>>();
  if (format === "vscode" && root.inputs !== undefined) {
    const r = z.array(inputSchema, { error: "must be an array of inputs" }).safeParse(root.inputs);
    if (!r.success) issues.push(...zodIssues(r.error.issues, `${prefix}inputs`));
    else for (const i of r.data) inputs.set(i.id, i);
  }
  const taken = new Set<string>();
  const instances: ImportedInstance[] = [];
  const prompts = new Map<string, SecretPrompt>();
  for (const [source, raw] of Object.entries(servers.data)) {
    const path = `${base}.${source}`;
    const e = entrySchema.safeParse(raw);
    if (!e.success) {
      issues.push(...zodIssues(e.error.issues, path));
      continue;
    }
    const built = buildEntry(e.data, path, issues);
    if (!built) continue;
    for (const slot of built.slots)
      for (const name of slot.uses)
        if (!prompts.has(name)) {
          const input = inputs.get(name);
          const fromEnv = slot.template.includes(`\${env:${name}}`);
          prompts.set(name, {
            name,
            from: fromEnv ? "env" : "input",
            required: true,
            ...(input?.description ? { description: input.description } : {}),
          });
        }
    if (!checkSpec(built, path, issues)) continue;
    instances.push({ ...built, name: uniqueInstanceName(source, taken), source, start: e.data.disabled !== true });
  }
  if (issues.length > 0) throw specInvalid(issues, "MCP servers config");
  if (instances.length === 0)
    throw specInvalid([{ path: base, message: "must describe at least one server" }], "MCP servers config");
  return { format, instances, prompts: [...prompts.values()] };
}

type Built = Pick<ImportedInstance, "json_spec" | "slots" | "secretValues">;

function buildEntry(e: Entry, path: string, issues: FleetIssue[]): Built | undefined {
  const url = e.url ?? e.serverUrl;
  const remote = e.type === "http" || e.type === "sse" || e.type === "streamable-http" || e.type === "streamableHttp";
  const slots: SecretSlot[] = [];
  const secretValues: Record<string, string> = {};
  const before = issues.length;
  if (e.envFile !== undefined)
    issues.push({ path: `${path}.envFile`, message: "is not supported on a fleet host: put the variables in env" });
  const noPlaceholders = (value: string, at: string, why: string) => {
    const p = findPlaceholders(value, at);
    issues.push(...p.issues);
    if (p.uses.length > 0) issues.push({ path: at, message: `must not hold secrets (\${...}): ${why}` });
  };
  if (remote || (url !== undefined && e.command === undefined)) {
    if (url === undefined) {
      issues.push({ path: `${path}.url`, message: `is required for a ${e.type ?? "remote"} server` });
      return undefined;
    }
    if (e.command !== undefined)
      issues.push({ path: `${path}.command`, message: "a remote (url) server has no command" });
    noPlaceholders(url, `${path}.${e.url !== undefined ? "url" : "serverUrl"}`, "a URL is stored and shown as is");
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(e.headers ?? {})) {
      const at = `${path}.headers.${name}`;
      const p = findPlaceholders(value, at);
      issues.push(...p.issues);
      if (p.uses.length > 0)
        slots.push({ key: `headers.${name}`, template: value, uses: p.uses.map((u) => u.name), path: at });
      else if (isCredentialHeader(name) && value !== "") secretValues[`headers.${name}`] = value;
      else headers[name] = value;
    }
    const spec: Record<string, unknown> = {
      type: "url",
      endpoint: url,
      transport: e.type === "sse" ? "sse" : "streamable-http",
    };
    if (Object.keys(headers).length > 0) spec.headers = headers;
    return issues.length > before ? undefined : { json_spec: spec, slots, secretValues };
  }
  if (e.command === undefined) {
    issues.push({ path: `${path}.command`, message: "is required (or url for a remote server)" });
    return undefined;
  }
  noPlaceholders(e.command, `${path}.command`, "the program name is stored and shown as is");
  for (const [i, a] of (e.args ?? []).entries())
    noPlaceholders(a, `${path}.args.${i}`, "arguments are visible in the process list; pass the value through env");
  if (e.cwd !== undefined) noPlaceholders(e.cwd, `${path}.cwd`, "a directory is not a secret");
  const env: Record<string, string | number | boolean> = {};
  for (const [name, value] of Object.entries(e.env ?? {})) {
    const at = `${path}.env.${name}`;
    if (typeof value !== "string") {
      env[name] = value;
      continue;
    }
    const p = findPlaceholders(value, at);
    issues.push(...p.issues);
    if (p.uses.length > 0) slots.push({ key: name, template: value, uses: p.uses.map((u) => u.name), path: at });
    else if (isCredentialEnv(name) && value !== "" && !value.startsWith("secret_ref:")) secretValues[name] = value;
    else env[name] = value;
  }
  const spec: Record<string, unknown> = { type: "process", command: e.command };
  if (e.args !== undefined) spec.args = [...e.args];
  if (Object.keys(env).length > 0) spec.env = env;
  if (e.cwd !== undefined) spec.cwd = e.cwd;
  return issues.length > before ? undefined : { json_spec: spec, slots, secretValues };
}

/** Validates the spec the entry becomes, with every secret in place (as refs), prefixing the entry's path. */
function checkSpec(built: Built, path: string, issues: FleetIssue[]): boolean {
  const dummy: Record<string, string> = {};
  for (const k of Object.keys(built.secretValues)) dummy[k] = "x";
  for (const s of built.slots) dummy[s.key] = "x";
  try {
    const wire =
      Object.keys(dummy).length > 0 ? extractSecrets(built.json_spec, dummy, "import").spec : built.json_spec;
    parseInstanceSpec(wire);
    return true;
  } catch (err) {
    if (!FleetError.isInstance(err)) throw err;
    const own = err.issues.length > 0 ? err.issues : [{ path: "", message: err.message }];
    for (const i of own) {
      const p = i.path.replace(/^secrets\./, "").replace(/^endpoint$/, "url");
      issues.push({ path: p ? `${path}.${p}` : path, message: i.message });
    }
    return false;
  }
}
