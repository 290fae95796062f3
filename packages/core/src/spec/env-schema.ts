import { z } from "zod";
import { type FleetIssue, specInvalid } from "../errors.js";
import type { EnvSchemaEntry } from "../model/types.js";
import { joinPath, reservedKeyIssues, zodIssues } from "./issues.js";
import { ENV_NAME, RESERVED_KEYS } from "./wire-schemas.js";

const entrySchema = z.object({
  name: z
    .string({ error: "must be a string" })
    .regex(ENV_NAME, { error: "must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)" })
    .max(256),
  type: z
    .enum(["string", "integer", "number", "boolean"], { error: "must be string, integer, number or boolean" })
    .optional(),
  description: z.string({ error: "must be a string" }).max(4096).nullable().optional(),
  required: z.boolean({ error: "must be a boolean" }).optional(),
  secret: z.boolean({ error: "must be a boolean" }).optional(),
  default: z
    .union([z.string().max(131072), z.number(), z.boolean(), z.null()], {
      error: "must be a string, number, boolean or null",
    })
    .optional(),
});

const schemaArray = z
  .array(entrySchema, { error: "must be an array of {name, type, required, secret, default}" })
  .max(1000);

/** A default as the entry's type (`"10"` for an integer becomes 10), or an error message. */
function typedDefault(
  type: EnvSchemaEntry["type"],
  value: string | number | boolean,
): string | number | boolean | { error: string } {
  switch (type) {
    case "string":
      return String(value);
    case "integer": {
      const n = typeof value === "string" && /^-?[0-9]+$/.test(value.trim()) ? Number(value) : value;
      return typeof n === "number" && Number.isSafeInteger(n) ? n : { error: "must be an integer" };
    }
    case "number": {
      const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
      return typeof n === "number" && Number.isFinite(n) ? n : { error: "must be a number" };
    }
    case "boolean":
      if (typeof value === "boolean") return value;
      if (value === "true") return true;
      if (value === "false") return false;
      return { error: "must be a boolean" };
  }
}

/**
 * Validates a server's `env_schema`. Defaults: `type` "string", `required` false, `secret` false.
 * Defaults are converted to the entry's type (`"10"` -> 10 for an integer); a `null` default is
 * dropped; a secret variable cannot have a default; duplicate names are refused.
 * Paths are `<prefix>.<index>.<field>` (`env_schema.1.default` with prefix "env_schema").
 */
export function parseEnvSchema(input: unknown, prefix = ""): EnvSchemaEntry[] {
  const reserved = reservedKeyIssues(input, prefix);
  const r = schemaArray.safeParse(input);
  const issues: FleetIssue[] = [...reserved, ...(r.success ? [] : zodIssues(r.error.issues, prefix))];
  const out: EnvSchemaEntry[] = [];
  if (r.success) {
    const seen = new Set<string>();
    r.data.forEach((e, i) => {
      const at = (f: string) => joinPath(prefix, [i, f]);
      if (RESERVED_KEYS.has(e.name)) issues.push({ path: at("name"), message: "reserved name is not allowed" });
      if (seen.has(e.name)) issues.push({ path: at("name"), message: "duplicate variable name" });
      seen.add(e.name);
      const entry: EnvSchemaEntry = {
        name: e.name,
        type: e.type ?? "string",
        required: e.required ?? false,
        secret: e.secret ?? false,
      };
      if (typeof e.description === "string") entry.description = e.description;
      if (e.default !== undefined && e.default !== null) {
        if (entry.secret)
          issues.push({ path: at("default"), message: "a secret variable cannot have a default value" });
        const d = typedDefault(entry.type, e.default);
        if (typeof d === "object") issues.push({ path: at("default"), message: d.error });
        else entry.default = d;
      }
      out.push(entry);
    });
  }
  if (issues.length > 0) throw specInvalid(issues, "env schema");
  return out;
}
