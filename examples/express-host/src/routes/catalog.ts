import type { Catalog, CatalogEntry, Fleet, ParsedServerDefinition } from "@mcpfleet/core";
import { z } from "zod";
import { createInstanceAs } from "../http/create-instance.js";
import type { Operation } from "../http/operation.js";
import { Instance } from "../http/schemas.js";

const CatalogQuery = z.object({
  q: z.string().max(256).optional().describe("Words matched against name, title, description and keywords."),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

const CatalogInstanceBody = z
  .object({
    name: z.string().min(1).max(128).optional().describe("Instance name (default: the entry's)."),
    values: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]))
      .optional()
      .describe("Values of the entry's variables (secret ones may come in `secrets` instead)."),
    secrets: z.record(z.string(), z.string()).optional(),
    source: z.string().optional().describe("Which of the entry's forms to run (default: its template)."),
    start: z.boolean().optional(),
  })
  .meta({ id: "CatalogInstanceRequest" });

const EntryView = z.looseObject({ name: z.string(), variables: z.array(z.looseObject({ name: z.string() })) });

/** A catalog entry as shown: what it is, how it runs and the variables it asks for. */
export function entryView(e: CatalogEntry) {
  return {
    name: e.name,
    instance_name: e.instanceName,
    ...(e.title ? { title: e.title } : {}),
    ...(e.description ? { description: e.description } : {}),
    ...(e.version ? { version: e.version } : {}),
    origin: e.origin,
    keywords: e.keywords,
    kind: e.template.kind,
    source: e.template.source,
    alternatives: e.alternatives.map((t) => ({ kind: t.kind, source: t.source })),
    variables: e.template.variables,
  };
}

/**
 * The server definition of a registry entry, registered on first use. The catalog is curated by whoever
 * configures the host (CATALOG_DIR), so registering its definitions is not the caller's decision: an
 * operator may do it (unlike `POST /v1/import`, where the caller supplies the definition).
 */
async function serverIdFor(fleet: Fleet, def: ParsedServerDefinition, signal: AbortSignal) {
  const found = (await fleet.servers.list({ signal })).find(
    (s) => s.name === def.name && (s.version ?? null) === (def.version ?? null),
  );
  if (found) return found.id;
  return (await fleet.servers.register(def, { signal })).id;
}

export function catalogOperations(fleet: Fleet, catalog: Catalog): Operation[] {
  return [
    {
      id: "listCatalog",
      method: "get",
      path: "/v1/catalog",
      role: "viewer",
      tag: "catalog",
      summary: "Servers the catalog offers (search with q)",
      query: CatalogQuery,
      response: z.array(EntryView),
      handler: async ({ query, res, signal }) => {
        const q = query as z.infer<typeof CatalogQuery>;
        const all = await catalog.list({ signal, ...(q.q ? { q: q.q } : {}) });
        res.setHeader("X-Total-Count", String(all.length));
        return all.slice(q.offset, q.offset + q.limit).map(entryView);
      },
    },
    {
      id: "getCatalogEntry",
      method: "get",
      path: "/v1/catalog/:name",
      role: "viewer",
      tag: "catalog",
      summary: "One catalog entry (its key, URL-encoded, or its default instance name)",
      response: EntryView,
      handler: async ({ params, signal }) => entryView(await catalog.get(params.name!, { signal })),
    },
    {
      id: "createCatalogInstance",
      method: "post",
      path: "/v1/catalog/:name/instances",
      role: "operator",
      tag: "catalog",
      summary: "Create an instance of a catalog entry with values for its variables",
      body: CatalogInstanceBody,
      response: Instance,
      success: 201,
      handler: async ({ params, body, principal, signal }) => {
        const b = body as z.infer<typeof CatalogInstanceBody>;
        const entry = await catalog.get(params.name!, { signal });
        const values: Record<string, string | number | boolean | string[]> = { ...(b.values ?? {}) };
        for (const v of entry.template.variables)
          if (b.secrets?.[v.name] !== undefined) values[v.name] = b.secrets[v.name]!;
        const { input } = await catalog.instanceInput(
          entry.name,
          { values, ...(b.name ? { name: b.name } : {}), ...(b.source ? { source: b.source } : {}) },
          { signal },
        );
        const serverId = entry.server ? await serverIdFor(fleet, entry.server, signal) : undefined;
        return createInstanceAs(
          fleet,
          principal,
          {
            name: input.name,
            json_spec: input.json_spec,
            ...(serverId ? { server_spec_id: serverId } : {}),
            ...(Object.keys(input.secrets).length > 0 ? { secrets: input.secrets } : {}),
            ...(b.start !== undefined ? { start: b.start } : {}),
          },
          { signal },
        );
      },
    },
  ];
}
