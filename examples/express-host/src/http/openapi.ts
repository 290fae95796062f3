import { z } from "zod";
import type { Operation } from "./operation.js";
import "./schemas.js";

const ERROR_STATUSES: Record<string, string> = {
  "400": "Malformed JSON",
  "401": "Missing or invalid API key",
  "403": "The key's role does not allow this operation",
  "404": "Not found",
  "409": "Conflict (revision mismatch, name taken, in use, invalid transition)",
  "422": "Validation failed (every issue listed with its path)",
  "429": "Rate limited (see Retry-After)",
};

const OPTS = {
  target: "draft-2020-12",
  io: "input",
  unrepresentable: "any",
  uri: (id: string) => `#/components/schemas/${id}`,
} as const;
const REF = /#\/\$defs\//g;

/** JSON Schema of one request/response part; named schemas become `$ref`s into components. */
function toSchema(s: z.ZodType): Record<string, unknown> {
  const id = z.globalRegistry.get(s)?.id;
  if (typeof id === "string") return { $ref: `#/components/schemas/${id}` };
  const { $schema: _s, $defs: _d, ...rest } = z.toJSONSchema(s, OPTS) as Record<string, unknown>;
  return JSON.parse(JSON.stringify(rest).replace(REF, "#/components/schemas/"));
}

/** Every named schema (`.meta({ id })`) as OpenAPI components. */
function components(): Record<string, unknown> {
  const all = z.toJSONSchema(z.globalRegistry, OPTS) as { schemas: Record<string, Record<string, unknown>> };
  const out: Record<string, unknown> = {};
  for (const [id, schema] of Object.entries(all.schemas)) {
    const { $schema: _s, $id: _i, ...rest } = schema;
    out[id] = JSON.parse(JSON.stringify(rest).replace(REF, "#/components/schemas/"));
  }
  return out;
}

/** The OpenAPI 3.1 document, generated from the operations and their zod schemas. */
export function openApiDocument(
  ops: Operation[],
  extra: { version: string; serverUrl?: string },
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of ops) {
    const path = op.path.replace(/:([A-Za-z_]+)/g, "{$1}");
    const params = [...op.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    if (op.query) {
      const js = toSchema(op.query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(js.properties ?? {})) {
        params.push({
          name,
          in: "query",
          required: (js.required ?? []).includes(name) && !(schema as { default?: unknown }).default,
          schema,
        } as never);
      }
    }
    const ok = String(op.success ?? (op.response ? 200 : 204));
    const responses: Record<string, unknown> = {
      [ok]: {
        description: op.summary,
        ...(op.produces
          ? { content: Object.fromEntries(op.produces.map((m) => [m, { schema: { type: "string" } }])) }
          : op.response
            ? { content: { "application/json": { schema: toSchema(op.response) } } }
            : {}),
      },
    };
    const problem = { content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } } };
    for (const [status, description] of Object.entries(ERROR_STATUSES)) {
      if (op.role === "public" && (status === "401" || status === "403" || status === "429")) continue;
      if (!op.body && (status === "400" || status === "422") && !op.query) continue;
      responses[status] = { description, ...problem };
    }
    paths[path] ??= {};
    paths[path]![op.method] = {
      operationId: op.id,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: [op.tag],
      "x-required-role": op.role,
      ...(op.role === "public" ? { security: [] } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(op.body
        ? { requestBody: { required: true, content: { "application/json": { schema: toSchema(op.body) } } } }
        : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "mcpfleet host API",
      version: extra.version,
      description: "Run fleets of MCP servers. Errors are application/problem+json with the FleetError code.",
    },
    ...(extra.serverUrl ? { servers: [{ url: extra.serverUrl }] } : {}),
    security: [{ bearer: [] }, { apiKey: [] }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "API key as a bearer token" },
        apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
      },
      schemas: { ...components(), Problem: components().Problem ?? {} },
    },
    paths,
  };
}
