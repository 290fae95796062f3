import { Ajv, type ValidateFunction } from "ajv";
import { BoundedMemo } from "../adapter/memo.js";
import { FleetError, type FleetIssue, specInvalid } from "../errors.js";
import type { EnvSchemaEntry } from "../model/types.js";
import { isSecretRef, looksLikeSecretRef } from "../secrets/secret-ref.js";
import { stableStringify } from "../util/stable-json.js";
import { parseEnvSchema } from "./env-schema.js";
import { isRecord } from "./issues.js";
import { ENV_NAME, RESERVED_KEYS } from "./wire-schemas.js";

/** The effective environment of an instance. */
export interface ValidatedEnvironment {
  /** Every variable as a string (schema defaults applied, `10` for an integer given as "10"); refs kept as written. */
  env: Record<string, string>;
  /** Same variables as their schema types (integer 10, boolean true); refs and unknown variables as strings. */
  typed: Record<string, unknown>;
}

interface Compiled {
  entries: EnvSchemaEntry[];
  secret: Set<string>;
  validate: ValidateFunction;
}

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: true, strict: false });
const byArray = new WeakMap<object, Compiled>();
const byKey = new BoundedMemo<string, Compiled>(512);

function compile(schema: unknown): Compiled {
  const entries = parseEnvSchema(schema, "env_schema");
  const properties: Record<string, unknown> = {};
  for (const e of entries) {
    properties[e.name] = e.default !== undefined ? { type: e.type, default: e.default } : { type: e.type };
  }
  const validate = ajv.compile({
    type: "object",
    properties,
    required: entries.filter((e) => e.required).map((e) => e.name),
  });
  return { entries, secret: new Set(entries.filter((e) => e.secret).map((e) => e.name)), validate };
}

/**
 * Compiled validator of an env schema. Cached by array identity (WeakMap) and by canonical JSON
 * (documents re-read from a store compile once too; at most 512 kept, oldest evicted).
 */
function compiled(schema: unknown): Compiled {
  const isObj = typeof schema === "object" && schema !== null;
  if (isObj) {
    const hit = byArray.get(schema);
    if (hit) return hit;
  }
  const key = stableStringify(schema);
  const c = byKey.getOrSet(key, () => compile(schema));
  if (isObj) byArray.set(schema, c);
  return c;
}

/**
 * Validates an instance's environment against a server's env schema (compiled once with ajv:
 * coercion, defaults, all errors) and returns the effective environment.
 *
 * - Defaults are applied; `"10"` for an integer var becomes `typed` 10 and `env` "10".
 * - Required variables must be present (a secret ref counts as present).
 * - Secret refs (`secret_ref:<scope>:<key>`) are accepted for any variable and passed through untouched.
 * - A LITERAL value for a variable marked `secret` is refused: the error code is
 *   `SECRET_LITERAL_REFUSED` (with every other issue listed too), path `environment.<NAME>`;
 *   the value is never echoed. Other problems throw `SPEC_INVALID`.
 * - Variables not in the schema pass through as strings.
 */
export function validateEnvironment(
  envSchema: readonly EnvSchemaEntry[] | unknown,
  environment: unknown,
): ValidatedEnvironment {
  const c = compiled(envSchema);
  if (!isRecord(environment)) throw specInvalid([{ path: "environment", message: "must be an object" }], "environment");
  const issues: FleetIssue[] = [];
  let literalSecret = false;
  const data: Record<string, unknown> = {};
  const refs: Record<string, string> = {};
  for (const key of Object.keys(environment)) {
    const path = `environment.${key}`;
    const v = environment[key];
    if (RESERVED_KEYS.has(key) || !ENV_NAME.test(key)) {
      issues.push({ path, message: "key must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)" });
      continue;
    }
    if (looksLikeSecretRef(v)) {
      if (isSecretRef(v)) refs[key] = v;
      else issues.push({ path, message: "malformed secret reference (expected secret_ref:<scope>:<key>)" });
      continue;
    }
    if (typeof v !== "string" && typeof v !== "boolean" && !(typeof v === "number" && Number.isFinite(v))) {
      issues.push({ path, message: "must be a string, number or boolean" });
      continue;
    }
    if (c.secret.has(key)) {
      literalSecret = true;
      issues.push({
        path,
        message: "is a secret variable: pass its value as a secret (stored as a secret_ref), never as a literal",
      });
      continue;
    }
    data[key] = v;
  }
  if (!c.validate(data)) {
    for (const err of c.validate.errors ?? []) {
      if (err.keyword === "required") {
        const name = String((err.params as { missingProperty?: string }).missingProperty ?? "");
        if (name in refs || (c.secret.has(name) && issues.some((i) => i.path === `environment.${name}`))) continue;
        issues.push({ path: `environment.${name}`, message: "is required" });
      } else {
        const name = err.instancePath.split("/")[1] ?? "";
        issues.push({
          path: name ? `environment.${decodePointer(name)}` : "environment",
          message: err.message ?? "is invalid",
        });
      }
    }
  }
  if (issues.length > 0) {
    if (literalSecret) {
      const summary = issues.map((i) => `${i.path}: ${i.message}`).join("; ");
      throw new FleetError("SECRET_LITERAL_REFUSED", `invalid environment: ${summary}`, {
        path: issues.find((i) => i.message.startsWith("is a secret"))?.path,
        issues,
        isRetryable: false,
      });
    }
    throw specInvalid(issues, "environment");
  }
  const env: Record<string, string> = {};
  const typed: Record<string, unknown> = {};
  for (const key of Object.keys(data)) {
    const v = data[key];
    typed[key] = v;
    env[key] = typeof v === "string" ? v : String(v);
  }
  for (const key of Object.keys(refs)) {
    env[key] = refs[key] as string;
    typed[key] = refs[key];
  }
  return { env, typed };
}

function decodePointer(s: string): string {
  return s.replace(/~1/g, "/").replace(/~0/g, "~");
}
