import { type FleetIssue, specInvalid } from "../errors.js";
import type { EnvSchemaEntry } from "../model/types.js";
import { isRecord, reservedKeyIssues, zodIssues } from "../spec/issues.js";
import type { ParsedServerDefinition } from "../spec/server-definition.js";
import { sanitizeInstanceName } from "./instance-name.js";
import { isCredentialHeader } from "./placeholders.js";
import {
  type RegistryArgument,
  type RegistryInput,
  type RegistryKeyValue,
  type RegistryPackage,
  type RegistryRemote,
  type RegistryServerJson,
  registryServerSchema,
} from "./registry-schema.js";
import {
  type ArgGroup,
  type SpecTemplate,
  type TemplateVariable,
  templateVars,
  type ValueTemplate,
} from "./spec-template.js";

export type RegistryRuntime = "process" | "docker" | "url";

export interface ParseRegistryOptions {
  /** Which way to run it when the document offers several: packages as processes (npx/uvx), the OCI image, or a remote. */
  runtime?: RegistryRuntime;
}

export interface RegistryServer {
  /** The registry name (`io.github.user/weather`). */
  registryName: string;
  /** A default instance name (`weather`). */
  instanceName: string;
  /** For `servers.register`: env schema from the chosen package's `environmentVariables`, secrets marked. */
  server: ParsedServerDefinition;
  /** The template to create instances from (the preferred runtime's, else the first runnable). */
  template: SpecTemplate | undefined;
  /** Every runnable way the document offers. */
  templates: SpecTemplate[];
  /** Packages that cannot be run here, with why (`mcpb` bundles, unknown registry types). */
  skipped: { source: string; reason: string }[];
  /** What of the document is not applied (an OCI package's `docker run` flags in `runtimeArguments`). */
  notes: string[];
}

/**
 * Reads an official MCP Registry `server.json` (schema `2025-12-11`, validated by its published
 * rules) into a server definition and spec templates: npm packages run as `npx -y <id>@<version>`,
 * pypi as `uvx <id>==<version>`, oci as a container image (docker spec), remotes as url specs with
 * their headers and URL variables. Bad documents: `SPEC_INVALID` listing every issue with its path.
 */
export function parseRegistryServer(serverJson: unknown, options: ParseRegistryOptions = {}): RegistryServer {
  if (!isRecord(serverJson)) throw specInvalid([{ path: "", message: "must be an object" }], "server.json");
  const issues: FleetIssue[] = reservedKeyIssues(serverJson);
  const r = registryServerSchema.safeParse(serverJson);
  if (!r.success) issues.push(...zodIssues(r.error.issues));
  if (issues.length > 0 || !r.success) throw specInvalid(issues, "server.json");
  const doc = r.data;
  if ((doc.packages ?? []).length === 0 && (doc.remotes ?? []).length === 0)
    throw specInvalid([{ path: "packages", message: "a server needs packages or remotes" }], "server.json");
  const templates: SpecTemplate[] = [];
  const skipped: RegistryServer["skipped"] = [];
  for (const [i, p] of (doc.packages ?? []).entries()) {
    const t = packageTemplate(p, `packages.${i}`, issues);
    if (typeof t === "string") skipped.push({ source: `${p.registryType}:${p.identifier}`, reason: t });
    else if (t) templates.push(t);
  }
  for (const [i, rm] of (doc.remotes ?? []).entries()) templates.push(remoteTemplate(rm, i));
  if (issues.length > 0) throw specInvalid(issues, "server.json");
  const template = (options.runtime && templates.find((t) => t.kind === options.runtime)) ?? templates[0];
  const pkg =
    template?.kind !== "url" ? doc.packages?.find((p) => template?.source.startsWith(`${p.registryType}:`)) : undefined;
  return {
    registryName: doc.name,
    instanceName: sanitizeInstanceName(doc.name.split("/")[1] ?? doc.name),
    server: serverDefinition(doc, pkg, templates),
    template,
    templates,
    skipped,
    notes: (doc.packages ?? [])
      .filter((p) => p.registryType === "oci" && (p.runtimeArguments ?? []).length > 0)
      .map(
        (p) =>
          `runtimeArguments of oci:${p.identifier} are docker run flags and are not applied; the docker runtime sets ports, env and limits itself`,
      ),
  };
}

function serverDefinition(
  doc: RegistryServerJson,
  pkg: RegistryPackage | undefined,
  templates: SpecTemplate[],
): ParsedServerDefinition {
  const env_schema: EnvSchemaEntry[] = (pkg?.environmentVariables ?? []).map((e) => {
    const entry: EnvSchemaEntry = {
      name: e.name,
      type: e.format === "number" ? "number" : e.format === "boolean" ? "boolean" : "string",
      required: e.isRequired === true && e.default === undefined && e.value === undefined,
      secret: e.isSecret === true,
    };
    if (e.description) entry.description = e.description;
    if (e.default !== undefined) entry.default = e.default;
    return entry;
  });
  const oci = templates.find((t) => t.kind === "docker");
  const def: ParsedServerDefinition = {
    name: doc.name.slice(0, 128),
    description: doc.title ? `${doc.title}: ${doc.description}` : doc.description,
    version: doc.version,
    tags: ["registry", ...new Set(templates.map((t) => t.kind))],
    status: "active",
    is_public: false,
    env_schema,
  };
  const image = oci?.base.image;
  if (typeof image === "string") def.docker_image_url = image;
  return def;
}

function variable(name: string, input: RegistryInput, secret = input.isSecret === true): TemplateVariable {
  const v: TemplateVariable = { name, required: input.isRequired === true, secret };
  if (input.description) v.description = input.description;
  if (input.default !== undefined) v.default = input.default;
  if (input.choices && input.choices.length > 0) v.choices = [...input.choices];
  if (input.format) v.format = input.format;
  return v;
}

/** Adds a variable once (the first definition wins). */
function addVar(vars: TemplateVariable[], v: TemplateVariable) {
  if (!vars.some((x) => x.name === v.name)) vars.push(v);
}

/** `variables` of an input that has a fixed `value` with `{placeholders}`. */
function nestedVars(input: { variables?: Record<string, RegistryInput> | undefined }, vars: TemplateVariable[]) {
  for (const [name, sub] of Object.entries(input.variables ?? {})) addVar(vars, variable(name, sub));
}

function argGroups(list: RegistryArgument[] | undefined, vars: TemplateVariable[]): ArgGroup[] {
  const out: ArgGroup[] = [];
  (list ?? []).forEach((a, i) => {
    nestedVars(a, vars);
    if (a.type === "positional") {
      if (a.value !== undefined) {
        out.push({ tokens: [a.value], vars: templateVars(a.value) });
        return;
      }
      const name = a.valueHint ?? `arg${i}`;
      addVar(vars, { ...variable(name, a), ...(a.isRepeated ? { repeated: true } : {}) });
      out.push({ tokens: [`{${name}}`], vars: [name], ...(a.isRepeated ? { repeat: name } : {}) });
      return;
    }
    if (a.value !== undefined) {
      out.push({ tokens: [a.name, a.value], vars: templateVars(a.value) });
      return;
    }
    const name = a.name.replace(/^-+/, "") || `arg${i}`;
    if (a.format === "boolean") {
      addVar(vars, variable(name, a));
      out.push({ tokens: [a.name], vars: [], flag: name });
      return;
    }
    addVar(vars, { ...variable(name, a), ...(a.isRepeated ? { repeated: true } : {}) });
    out.push({ tokens: [a.name, `{${name}}`], vars: [name], ...(a.isRepeated ? { repeat: name } : {}) });
  });
  return out;
}

function valueTemplates(
  list: RegistryKeyValue[] | undefined,
  vars: TemplateVariable[],
  header: boolean,
): ValueTemplate[] {
  return (list ?? []).map((kv) => {
    nestedVars(kv, vars);
    const secret = kv.isSecret === true || (header && isCredentialHeader(kv.name));
    if (kv.value !== undefined) return { name: kv.name, text: kv.value, vars: templateVars(kv.value), secret };
    addVar(vars, variable(kv.name, kv, secret));
    return { name: kv.name, text: `{${kv.name}}`, vars: [kv.name], secret };
  });
}

const HAS_TAG = /(?::[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})$/;

function packageTemplate(p: RegistryPackage, path: string, issues: FleetIssue[]): SpecTemplate | string | undefined {
  const variables: TemplateVariable[] = [];
  const runtimeArgs = argGroups(p.runtimeArguments, variables);
  const packageArgs = argGroups(p.packageArguments, variables);
  const env = valueTemplates(p.environmentVariables, variables, false);
  const http = p.transport.type !== "stdio" ? (p.transport as { type: string; url: string }) : undefined;
  const transport = http ? (http.type === "sse" ? "sse" : "streamable-http") : "stdio";
  const version = p.version;
  let base: Record<string, unknown>;
  let kind: SpecTemplate["kind"];
  let source: string;
  let args: ArgGroup[];
  switch (p.registryType) {
    case "npm": {
      if (!version) return void issues.push({ path: `${path}.version`, message: "is required for an npm package" });
      kind = "process";
      source = `npm:${p.identifier}@${version}`;
      base = { type: "process", command: "npx", transport };
      args = [
        { tokens: ["-y"], vars: [] },
        ...runtimeArgs,
        { tokens: [`${p.identifier}@${version}`], vars: [] },
        ...packageArgs,
      ];
      break;
    }
    case "pypi": {
      if (!version) return void issues.push({ path: `${path}.version`, message: "is required for a pypi package" });
      kind = "process";
      source = `pypi:${p.identifier}==${version}`;
      base = { type: "process", command: "uvx", transport };
      args = [...runtimeArgs, { tokens: [`${p.identifier}==${version}`], vars: [] }, ...packageArgs];
      break;
    }
    case "oci": {
      const image = HAS_TAG.test(p.identifier) || !version ? p.identifier : `${p.identifier}:${version}`;
      kind = "docker";
      source = `oci:${image}`;
      base = { type: "docker", image, transport };
      // docker run's own flags (runtimeArguments) are the runtime's business here; only the image's arguments pass
      args = packageArgs;
      break;
    }
    case "mcpb":
      return "mcpb bundles are downloaded and unpacked by desktop clients; not runnable here";
    default:
      return `registry type ${p.registryType} is not supported (npm, pypi, oci)`;
  }
  const t: SpecTemplate = { kind, source, base, args, env, headers: [], variables };
  if (http) t.localUrl = http.url;
  return t;
}

function remoteTemplate(r: RegistryRemote, i: number): SpecTemplate {
  const variables: TemplateVariable[] = [];
  for (const [name, input] of Object.entries(r.variables ?? {})) addVar(variables, variable(name, input));
  const headers = valueTemplates(r.headers, variables, true);
  return {
    kind: "url",
    source: `remote:${i}`,
    base: { type: "url", transport: r.type === "sse" ? "sse" : "streamable-http" },
    args: [],
    env: [],
    headers,
    endpoint: r.url,
    variables,
  };
}
