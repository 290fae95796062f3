import { FleetError, specInvalid } from "../errors.js";
import type { CallOptions } from "../plugins/common.js";
import { isRecord } from "../spec/issues.js";
import type { ParsedServerDefinition } from "../spec/server-definition.js";
import { parseTemplate } from "../spec/template.js";
import { sanitizeInstanceName } from "./instance-name.js";
import { type ParseRegistryOptions, parseRegistryServer } from "./registry-server.js";
import {
  instantiateSpecTemplate,
  type SpecTemplate,
  type TemplateValues,
  type TemplateVariable,
} from "./spec-template.js";

/** One thing the catalog offers: a registry server or an original-manager template, with its spec template. */
export interface CatalogEntry {
  /** The key: the registry name (`io.github.user/weather`) or the template's name (`fastapi`). */
  name: string;
  /** Default instance name. */
  instanceName: string;
  title?: string;
  description?: string;
  version?: string;
  keywords: string[];
  origin: "registry" | "template";
  /** The server definition to register for its instances (registry entries). */
  server?: ParsedServerDefinition;
  template: SpecTemplate;
  /** Other runnable forms (registry entries offering several packages or remotes). */
  alternatives: SpecTemplate[];
  /** Where it was loaded from (a host's catalog path): {@link Catalog.prune} removes what that source no longer holds. */
  loadedFrom?: string;
}

/**
 * Where catalog entries live. The catalog keeps them behind this interface so a shared store
 * (every API replica seeing the same entries) can replace the in-memory one.
 */
export interface CatalogRepository {
  list(options?: CallOptions): Promise<CatalogEntry[]>;
  get(name: string, options?: CallOptions): Promise<CatalogEntry | undefined>;
  put(entry: CatalogEntry, options?: CallOptions): Promise<void>;
  delete(name: string, options?: CallOptions): Promise<boolean>;
}

/** Entries in this process's memory (deep-copied in and out). */
export function memoryCatalogRepository(): CatalogRepository {
  const entries = new Map<string, CatalogEntry>();
  return {
    list: async () => [...entries.values()].map((e) => structuredClone(e)),
    get: async (name) => {
      const e = entries.get(name);
      return e ? structuredClone(e) : undefined;
    },
    put: async (entry) => {
      entries.set(entry.name, structuredClone(entry));
    },
    delete: async (name) => entries.delete(name),
  };
}

export interface CatalogSearch extends CallOptions {
  /** Case-insensitive words matched against name, title, description and keywords (all must match). */
  q?: string;
}

export interface Catalog {
  /**
   * Adds a registry `server.json` or an original-manager template (either format); returns the entry.
   * `loadedFrom` names its source (a directory, a file) for {@link Catalog.prune}.
   */
  load(document: unknown, options?: CallOptions & { loadedFrom?: string }): Promise<CatalogEntry>;
  /**
   * Removes the entries loaded from `loadedFrom` whose names are not in `keep` (the source no longer
   * holds them); entries of other sources, or loaded without one, stay. Returns the removed names.
   */
  prune(loadedFrom: string, keep: Iterable<string>, options?: CallOptions): Promise<string[]>;
  list(search?: CatalogSearch): Promise<CatalogEntry[]>;
  /** By key, or by default instance name when exactly one entry has it. NOT_FOUND otherwise. */
  get(name: string, options?: CallOptions): Promise<CatalogEntry>;
  /**
   * What to create for an instance of `name` with the given values: `{ name, json_spec, secrets }`
   * for `instances.create`, plus the server definition to register first (registry entries).
   */
  instanceInput(
    name: string,
    request?: { values?: TemplateValues; name?: string; source?: string },
    options?: CallOptions,
  ): Promise<{
    entry: CatalogEntry;
    input: { name: string; json_spec: Record<string, unknown>; secrets: Record<string, string> };
  }>;
}

export interface CatalogOptions {
  repository?: CatalogRepository;
  registry?: ParseRegistryOptions;
}

const isRegistryDocument = (d: Record<string, unknown>) =>
  typeof d.name === "string" && d.name.includes("/") && (Array.isArray(d.packages) || Array.isArray(d.remotes));

/** A catalog of runnable servers: registry `server.json` documents and the original manager's templates. */
export function createCatalog(options: CatalogOptions = {}): Catalog {
  const repo = options.repository ?? memoryCatalogRepository();
  const get: Catalog["get"] = async (name, o) => {
    const direct = typeof name === "string" && name !== "" ? await repo.get(name, o) : undefined;
    if (direct) return direct;
    const short = (await repo.list(o)).filter((e) => e.instanceName === name);
    if (short.length === 1) return short[0]!;
    throw new FleetError("NOT_FOUND", `catalog entry ${String(name)} not found`, { path: "name", isRetryable: false });
  };
  return {
    async load(document, o) {
      if (!isRecord(document)) throw specInvalid([{ path: "", message: "must be an object" }], "catalog entry");
      const entry = isRegistryDocument(document) ? registryEntry(document, options.registry) : templateEntry(document);
      if (o?.loadedFrom !== undefined) entry.loadedFrom = o.loadedFrom;
      const { loadedFrom: _source, ...call } = o ?? {};
      await repo.put(entry, call);
      return entry;
    },
    async prune(loadedFrom, keep, o) {
      const kept = new Set(keep);
      const removed: string[] = [];
      for (const e of await repo.list(o)) {
        if (e.loadedFrom !== loadedFrom || kept.has(e.name)) continue;
        if (await repo.delete(e.name, o)) removed.push(e.name);
      }
      return removed.sort();
    },
    async list(search = {}) {
      const words = (search.q ?? "").toLowerCase().split(/\s+/).filter(Boolean);
      const all = await repo.list(search);
      return all
        .filter((e) => {
          const hay = [e.name, e.title ?? "", e.description ?? "", ...e.keywords].join(" ").toLowerCase();
          return words.every((w) => hay.includes(w));
        })
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    get,
    async instanceInput(name, request = {}, o) {
      const entry = await get(name, o);
      const template =
        request.source === undefined
          ? entry.template
          : [entry.template, ...entry.alternatives].find((t) => t.source === request.source);
      if (!template)
        throw specInvalid(
          [
            {
              path: "source",
              message: `must be one of ${[entry.template, ...entry.alternatives].map((t) => t.source).join(", ")}`,
            },
          ],
          "catalog request",
        );
      const built = instantiateSpecTemplate(template, request.values ?? {});
      return { entry, input: { name: request.name ?? entry.instanceName, ...built } };
    },
  };
}

function registryEntry(document: Record<string, unknown>, o?: ParseRegistryOptions): CatalogEntry {
  const r = parseRegistryServer(document, o);
  if (!r.template) {
    throw new FleetError(
      "UNSUPPORTED",
      `${r.registryName} offers nothing runnable here (${r.skipped.map((s) => s.reason).join("; ")})`,
      { path: "packages", isRetryable: false },
    );
  }
  const doc = document as { title?: string; description?: string; version?: string };
  const entry: CatalogEntry = {
    name: r.registryName,
    instanceName: r.instanceName,
    keywords: [
      ...new Set([
        ...r.registryName.split(/[/.]/),
        ...r.templates.map((t) => t.kind),
        ...r.templates.map((t) => t.source.split(":")[0]!),
      ]),
    ],
    origin: "registry",
    server: r.server,
    template: r.template,
    alternatives: r.templates.filter((t) => t !== r.template),
  };
  if (doc.title) entry.title = doc.title;
  if (doc.description) entry.description = doc.description;
  if (doc.version) entry.version = doc.version;
  return entry;
}

/** An original-manager template as a catalog entry: its env schema become the variables. */
function templateEntry(document: Record<string, unknown>): CatalogEntry {
  const t = parseTemplate(document);
  const { environment, ...base } = t.json_spec as { environment?: Record<string, unknown> } & Record<string, unknown>;
  const literal = isRecord(environment) ? environment : {};
  const variables: TemplateVariable[] = t.env_schema.map((e) => {
    const v: TemplateVariable = { name: e.name, required: e.required, secret: e.secret };
    if (e.description) v.description = e.description;
    const d = literal[e.name] ?? e.default;
    if (d !== undefined && d !== null) v.default = String(d);
    return v;
  });
  const fixed: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(literal)) if (!variables.some((x) => x.name === k)) fixed[k] = v;
  if (Object.keys(fixed).length > 0) base.environment = fixed;
  const template: SpecTemplate = {
    kind: "docker",
    source: `template:${t.key}`,
    base,
    args: [],
    env: variables.map((v) => ({ name: v.name, text: `{${v.name}}`, vars: [v.name], secret: v.secret })),
    headers: [],
    variables,
  };
  const entry: CatalogEntry = {
    name: t.key,
    instanceName: sanitizeInstanceName(t.key),
    keywords: ["template", ...t.capabilities],
    origin: "template",
    template,
    alternatives: [],
  };
  if (t.description) entry.description = t.description;
  return entry;
}
