import type { JsonSchema } from "./api.js";

/** From a tool's input schema to form values and back (flat objects; nested values as JSON text). */

export type Kind = "string" | "number" | "integer" | "boolean" | "enum" | "json";

export function kindOf(s: JsonSchema): Kind {
  if (Array.isArray(s.enum) && s.enum.length > 0) return "enum";
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== "null") : s.type;
  if (t === "string" || t === "number" || t === "integer" || t === "boolean") return t;
  return "json";
}

/** Turns the form's text values into the tool's arguments; throws naming the field on bad input. */
export function toArguments(schema: JsonSchema, values: Record<string, string | boolean>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const v = values[name];
    const kind = kindOf(prop);
    if (kind === "boolean") {
      if (v !== undefined) out[name] = v === true;
      continue;
    }
    if (v === undefined || v === "") continue;
    const text = String(v);
    if (kind === "number" || kind === "integer") {
      const n = Number(text);
      if (!Number.isFinite(n) || (kind === "integer" && !Number.isInteger(n)))
        throw new Error(`${name}: must be ${kind === "integer" ? "an integer" : "a number"}`);
      out[name] = n;
    } else if (kind === "enum") {
      out[name] = prop.enum!.find((e) => String(e) === text) ?? text;
    } else if (kind === "json") {
      try {
        out[name] = JSON.parse(text);
      } catch {
        throw new Error(`${name}: must be JSON`);
      }
    } else out[name] = text;
  }
  return out;
}

export function initialValues(schema: JsonSchema): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    if (prop.default === undefined) continue;
    out[name] =
      kindOf(prop) === "boolean"
        ? prop.default === true
        : typeof prop.default === "string"
          ? prop.default
          : JSON.stringify(prop.default);
  }
  return out;
}
