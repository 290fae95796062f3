import { readFile } from "node:fs/promises";
import { importSecrets, missingSecrets, parseMcpServersConfig, type SecretPrompt } from "@mcpfleet/core";
import { CliError, EXIT } from "../errors.js";

/** One instance the file asks for, with its secret values (kept in memory only, sent to the secret store). */
export interface Desired {
  name: string;
  json_spec: Record<string, unknown>;
  secrets: Record<string, string>;
  start: boolean;
  description?: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** `${env:NAME}` placeholders of mcpfleet's own format, filled from the environment. */
function fillEnv(value: string, env: NodeJS.ProcessEnv, path: string): string {
  return value.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    const v = env[name];
    if (v === undefined || v === "")
      throw new CliError("SPEC_INVALID", `${path} needs the environment variable ${name}`, {
        issues: [{ path, message: `\${env:${name}} is not set` }],
      });
    return v;
  });
}

/**
 * mcpfleet's own format (`fleet.json`): `{ "instances": [ { name, json_spec, secrets?, start?, description? } ] }`;
 * secret values may be `${env:NAME}`.
 */
function parseFleetFile(doc: Record<string, unknown>, env: NodeJS.ProcessEnv): Desired[] {
  if (!Array.isArray(doc.instances))
    throw new CliError("SPEC_INVALID", "a fleet file needs an instances array", {
      issues: [{ path: "instances", message: "must be an array" }],
    });
  const issues: Array<{ path: string; message: string }> = [];
  const out: Desired[] = [];
  for (const [i, raw] of doc.instances.entries()) {
    const at = `instances.${i}`;
    if (!isRecord(raw) || typeof raw.name !== "string" || !isRecord(raw.json_spec)) {
      issues.push({ path: at, message: "must be an object with a name and a json_spec object" });
      continue;
    }
    const secrets: Record<string, string> = {};
    if (raw.secrets !== undefined && !isRecord(raw.secrets))
      issues.push({ path: `${at}.secrets`, message: "must be an object" });
    for (const [k, v] of Object.entries(isRecord(raw.secrets) ? raw.secrets : {})) {
      if (typeof v !== "string") issues.push({ path: `${at}.secrets.${k}`, message: "must be a string" });
      else secrets[k] = fillEnv(v, env, `${at}.secrets.${k}`);
    }
    out.push({
      name: raw.name,
      json_spec: raw.json_spec,
      secrets,
      start: raw.start !== false,
      ...(typeof raw.description === "string" ? { description: raw.description } : {}),
    });
  }
  if (issues.length > 0) throw new CliError("SPEC_INVALID", "the fleet file is not valid", { issues });
  return out;
}

export interface ReadOptions {
  env: NodeJS.ProcessEnv;
  /** Asks for the value of a prompt the environment does not answer (undefined: no terminal). */
  ask?: (prompt: SecretPrompt) => Promise<string>;
}

/**
 * Reads a config file: an MCP client's (`mcpServers`: Claude Desktop, Cursor, Windsurf; VS Code
 * `servers`) as is, or mcpfleet's own `instances` format. Placeholders (`${input:x}`, `${env:X}`) are
 * answered from the environment, else asked for; literal credentials go to the secret store.
 */
export async function readConfigFile(path: string, options: ReadOptions): Promise<Desired[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new CliError("SPEC_INVALID", `cannot read ${path}: ${(err as Error).message}`, { exitCode: EXIT.INVALID });
  }
  if (!isRecord(doc)) throw new CliError("SPEC_INVALID", `${path} must hold a JSON object`);
  if ("instances" in doc) return parseFleetFile(doc, options.env);
  let plan: ReturnType<typeof parseMcpServersConfig>;
  try {
    plan = parseMcpServersConfig(doc);
  } catch (err) {
    const e = err as { code?: string; message: string; issues?: Array<{ path: string; message: string }> };
    throw new CliError(e.code ?? "SPEC_INVALID", e.message, { issues: e.issues ?? [] });
  }
  const provided: Record<string, string> = {};
  for (const name of missingSecrets(plan.instances, {})) {
    const prompt = plan.prompts.find((p) => p.name === name)!;
    const fromEnv = options.env[name];
    if (fromEnv) provided[name] = fromEnv;
    else if (options.ask) provided[name] = await options.ask(prompt);
  }
  const missing = missingSecrets(plan.instances, provided);
  if (missing.length > 0)
    throw new CliError("SPEC_INVALID", `no value for ${missing.join(", ")} (set it in the environment)`, {
      issues: missing.map((n) => ({ path: `secrets.${n}`, message: "no value given" })),
    });
  return plan.instances.map((i) => ({
    name: i.name,
    json_spec: i.json_spec,
    secrets: importSecrets(i, provided),
    start: i.start,
  }));
}
