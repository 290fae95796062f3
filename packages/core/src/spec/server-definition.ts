import { z } from "zod";
import { type FleetIssue, specInvalid } from "../errors.js";
import type { EnvSchemaEntry, ServerDefinition } from "../model/types.js";
import { parseEnvSchema } from "./env-schema.js";
import { parseImageReference } from "./image-ref.js";
import { isRecord, reservedKeyIssues, zodIssues } from "./issues.js";

/** A validated `servers.register` input with defaults applied. */
export interface ParsedServerDefinition
  extends Omit<ServerDefinition, "id" | "created_at" | "updated_at" | "revision"> {
  id?: string;
}

function hasControlCharacters(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

const text = (max: number) =>
  z.string({ error: "must be a string" }).max(max, { error: `must be at most ${max} characters` });

const serverSchema = z.object({
  id: text(128).min(1, { error: "must not be empty" }).optional(),
  name: text(128)
    .min(1, { error: "must not be empty" })
    .refine((v) => v === v.trim() && !hasControlCharacters(v), {
      error: "must not have control characters or leading/trailing spaces",
    }),
  description: text(4096).nullable().optional(),
  docker_image_url: z
    .string({ error: "must be a string" })
    .superRefine((v, ctx) => {
      if (v === "") return; // remote-only servers have no image
      const r = parseImageReference(v);
      if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
    })
    .nullable()
    .optional(),
  version: text(128).nullable().optional(),
  tags: z
    .array(text(64).min(1, { error: "must not be empty" }), { error: "must be an array of strings" })
    .max(64)
    .optional(),
  status: z.enum(["active", "inactive", "deprecated"], { error: "must be active, inactive or deprecated" }).optional(),
  is_public: z.boolean({ error: "must be a boolean" }).optional(),
  secret_scopes: z
    .array(z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: "must match [A-Za-z0-9_.-]+" }), {
      error: "must be an array of scope names",
    })
    .max(64)
    .nullable()
    .optional(),
});

/**
 * Validates a server definition (the seeds' MCPServer) and applies defaults: `tags` [],
 * `status` "active", `is_public` false, `env_schema` []. Server-assigned fields (`created_at`,
 * `updated_at`, `revision`) and unknown keys are ignored. `SPEC_INVALID` lists every issue.
 */
export function parseServerDefinition(input: unknown): ParsedServerDefinition {
  if (!isRecord(input)) throw specInvalid([{ path: "", message: "must be an object" }], "server definition");
  const issues: FleetIssue[] = reservedKeyIssues(input);
  const r = serverSchema.safeParse(input);
  if (!r.success) issues.push(...zodIssues(r.error.issues));
  let envSchema: EnvSchemaEntry[] = [];
  if (input.env_schema !== undefined && input.env_schema !== null) {
    try {
      envSchema = parseEnvSchema(input.env_schema, "env_schema");
    } catch (err) {
      issues.push(...((err as { issues?: FleetIssue[] }).issues ?? [{ path: "env_schema", message: "is invalid" }]));
    }
  }
  if (issues.length > 0 || !r.success) throw specInvalid(dedupe(issues), "server definition");
  const d = r.data;
  const out: ParsedServerDefinition = {
    name: d.name,
    tags: d.tags ? [...new Set(d.tags)] : [],
    status: d.status ?? "active",
    is_public: d.is_public ?? false,
    env_schema: envSchema,
  };
  if (d.id !== undefined) out.id = d.id;
  if (typeof d.description === "string") out.description = d.description;
  if (typeof d.docker_image_url === "string") out.docker_image_url = d.docker_image_url;
  if (typeof d.version === "string") out.version = d.version;
  if (d.secret_scopes) out.secret_scopes = [...new Set(d.secret_scopes)];
  return out;
}

function dedupe(issues: FleetIssue[]): FleetIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\n${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
