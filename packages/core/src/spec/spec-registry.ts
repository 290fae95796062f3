import { BoundedMemo } from "../adapter/memo.js";
import { FleetError, type FleetIssue, specInvalid } from "../errors.js";
import type { AnyInstanceSpec, CustomSpec, HealthCheck, InstanceSpec } from "../model/spec-types.js";
import { cloneJson, inspectDocument, isRecord, jsonEquals, zodIssues } from "./issues.js";
import {
  normalizeDocker,
  normalizeEnvironment,
  normalizeHealthCheck,
  normalizeProcess,
  normalizeUrl,
} from "./normalize.js";
import { isStandardSchema, type StandardSchemaV1, standardIssuePath } from "./standard-schema.js";
import { customCommonWire, dockerWire, processWire, urlWire } from "./wire-schemas.js";

/**
 * A parse function for a spec type: validates the wire document (`json_spec`, refs as written) and
 * returns the spec the runtime receives (an object). Throw a `FleetError` (`SPEC_INVALID` with
 * issues) or any error (its message becomes the issue).
 */
export type SpecParseFunction = (raw: Record<string, unknown>) => object;

/** How an adopter defines a spec type: a Standard Schema (zod, valibot, arktype) or a parse function. */
export type SpecTypeDefinition = StandardSchemaV1 | SpecParseFunction;

/** @deprecated use {@link SpecParseFunction}. */
export type CustomSpecParser = SpecParseFunction;

/** The spec types of a fleet: built-ins plus the adopter's, parsed through one table. */
export interface SpecTypeRegistry {
  /** Every registered `type` value, built-ins first (`docker`, `container`, `url`, `process`, ...). */
  readonly types: readonly string[];
  has(type: string): boolean;
  /** Validates a wire `json_spec` (see `parseInstanceSpec`). */
  parse(input: unknown): AnyInstanceSpec;
}

export const BUILTIN_SPEC_TYPES = ["docker", "container", "url", "process"] as const;
const TYPE_NAME = /^[a-z][a-z0-9_.-]{0,62}$/;

type Entry = (input: Record<string, unknown>, reserved: FleetIssue[]) => AnyInstanceSpec;
interface ZodLike {
  safeParse(v: unknown): { success: true; data: unknown } | { success: false; error: { issues: never } };
}

function builtin(name: string, schema: ZodLike, normalize: (data: never) => InstanceSpec): Entry {
  return (input, reserved) => {
    const result = schema.safeParse(input);
    if (!result.success || reserved.length > 0) {
      const issues = result.success ? [] : zodIssues(result.error.issues);
      throw specInvalid(mergeIssues(reserved, issues), `${name} spec`);
    }
    return normalize(result.data as never);
  };
}

const BUILTINS: Record<(typeof BUILTIN_SPEC_TYPES)[number], Entry> = {
  docker: builtin("docker", dockerWire as unknown as ZodLike, normalizeDocker as (d: never) => InstanceSpec),
  container: builtin("container", dockerWire as unknown as ZodLike, normalizeDocker as (d: never) => InstanceSpec),
  url: builtin("url", urlWire as unknown as ZodLike, normalizeUrl as (d: never) => InstanceSpec),
  process: builtin("process", processWire as unknown as ZodLike, normalizeProcess as (d: never) => InstanceSpec),
};
const isBuiltin = (t: unknown): t is keyof typeof BUILTINS =>
  t === "docker" || t === "container" || t === "url" || t === "process";

/**
 * Results of recent successful parses of built-in types, keyed by the document's JSON text. Only
 * pure JSON documents are memoized (so the text represents them exactly); callers get a deep copy.
 * The engine re-parses the same stored json_spec on every reconcile and probe. Built-in parsing is
 * the same in every registry, so one memo serves all.
 */
const memo = new BoundedMemo<string, InstanceSpec>(512);
/** Same, by document identity, verified against a snapshot so later mutation is noticed. */
const byObject = new WeakMap<object, { snapshot: unknown; spec: InstanceSpec }>();

/**
 * A registry of spec types: the built-ins (`docker` with its alias `container`, `url`, `process`)
 * plus `custom`, each a Standard Schema or a parse function. Built-in names cannot be replaced and
 * names are `[a-z][a-z0-9_.-]*`: both refused with `OPTIONS_INVALID` (`path` `specTypes.<name>`).
 *
 * A custom type's spec (what the runtime receives in `DeployRequest.spec`) is the schema's output
 * (defaults applied) with `type` set to the registered name, `environment` (the output's, else the
 * document's) as strings, `healthCheck` (the output's, else the document's `health_check`
 * normalized) and `raw`, the document as written. `environment` and `health_check` are checked by
 * core's rules (secret refs well formed); issues carry paths relative to the spec.
 */
export function specTypeRegistry(custom: Record<string, SpecTypeDefinition> = {}): SpecTypeRegistry {
  if (!isRecord(custom)) {
    throw new FleetError("OPTIONS_INVALID", `[mcpfleet/core] option "specTypes" must be an object`, {
      path: "specTypes",
    });
  }
  const entries = new Map<string, Entry>(Object.entries(BUILTINS));
  for (const [name, def] of Object.entries(custom)) {
    const path = `specTypes.${name}`;
    const refuse = (message: string) =>
      new FleetError("OPTIONS_INVALID", `[mcpfleet/core] option "${path}": ${message}`, { path });
    if (isBuiltin(name)) throw refuse("is a built-in spec type and cannot be replaced");
    if (!TYPE_NAME.test(name)) throw refuse("a spec type name must match [a-z][a-z0-9_.-]* (at most 63 characters)");
    if (typeof def !== "function" && !isStandardSchema(def)) {
      throw refuse("must be a Standard Schema (zod, valibot, arktype) or a parse function");
    }
    entries.set(name, customEntry(name, def));
  }
  const types = Object.freeze([...entries.keys()]);
  return {
    types,
    has: (type) => entries.has(type),
    parse: (input) => parseWith(entries, types, input),
  };
}

function parseWith(entries: Map<string, Entry>, types: readonly string[], input: unknown): AnyInstanceSpec {
  if (!isRecord(input)) throw specInvalid([{ path: "", message: "must be an object with a type" }], "spec");
  const type = input.type;
  const memoize = isBuiltin(type);
  if (memoize) {
    const seen = byObject.get(input);
    if (seen && jsonEquals(input, seen.snapshot)) return cloneJson(seen.spec);
  }
  const { reserved, pure } = inspectDocument(input);
  const key = memoize && pure && reserved.length === 0 ? JSON.stringify(input) : undefined;
  if (key !== undefined) {
    const hit = memo.get(key);
    if (hit) {
      byObject.set(input, { snapshot: cloneJson(input), spec: hit });
      return cloneJson(hit);
    }
  }
  const entry = typeof type === "string" ? entries.get(type) : undefined;
  if (!entry) {
    throw specInvalid([{ path: "type", message: `must be one of ${types.join(", ")}` }, ...reserved], "spec");
  }
  const spec = entry(input, reserved);
  if (key !== undefined) {
    const frozen = cloneJson(spec) as InstanceSpec;
    memo.set(key, frozen);
    byObject.set(input, { snapshot: cloneJson(input), spec: frozen });
  }
  return spec;
}

function customEntry(type: string, def: SpecTypeDefinition): Entry {
  const run = isStandardSchema(def) ? standardRunner(type, def) : functionRunner(type, def);
  return (input, reserved) => {
    const common = customCommonWire.safeParse(input);
    const commonIssues = common.success ? [] : zodIssues(common.error.issues);
    const outcome = reserved.length === 0 ? run(input) : { issues: [] };
    const issues = mergeIssues(mergeIssues(reserved, commonIssues), "issues" in outcome ? outcome.issues : []);
    if (issues.length > 0 || !("value" in outcome)) throw specInvalid(issues, `${type} spec`);
    const out = outcome.value;
    if (!isRecord(out)) {
      throw new FleetError("SPEC_INVALID", `the ${type} spec type returned ${typeof out}, not an object`, {
        path: "",
        issues: [{ path: "", message: "the spec type's schema or parse function must return an object" }],
        isRetryable: false,
      });
    }
    const env = isRecord(out.environment) ? out.environment : input.environment;
    if (env !== input.environment) {
      const checked = customCommonWire.safeParse({ environment: env });
      if (!checked.success) throw specInvalid(zodIssues(checked.error.issues), `${type} spec`);
    }
    const healthCheck = isRecord(out.healthCheck)
      ? (out.healthCheck as unknown as HealthCheck)
      : normalizeHealthCheck(common.success ? common.data.health_check : undefined);
    const spec: CustomSpec = {
      ...out,
      type,
      environment: normalizeEnvironment(env as Record<string, string | number | boolean> | undefined),
      raw: cloneJson(input),
    };
    if (healthCheck) spec.healthCheck = healthCheck;
    else delete spec.healthCheck;
    return spec;
  };
}

type Outcome = { value: unknown } | { issues: FleetIssue[] };

function standardRunner(type: string, schema: StandardSchemaV1): (input: Record<string, unknown>) => Outcome {
  return (input) => {
    let result: StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>;
    try {
      result = schema["~standard"].validate(input);
    } catch (err) {
      return { issues: [{ path: "", message: messageOf(err) }] };
    }
    if (result instanceof Promise) {
      result.catch(() => {});
      throw new FleetError(
        "UNSUPPORTED",
        `the schema of spec type ${type} validates asynchronously; spec types must validate synchronously`,
        { path: "type", isRetryable: false },
      );
    }
    if (result.issues) {
      const issues = result.issues.map((i) => ({ path: standardIssuePath(i.path), message: i.message }));
      return { issues: issues.length > 0 ? issues : [{ path: "", message: "rejected by the spec type's schema" }] };
    }
    return { value: result.value };
  };
}

function functionRunner(type: string, parse: SpecParseFunction): (input: Record<string, unknown>) => Outcome {
  return (input) => {
    try {
      return { value: parse(cloneJson(input)) };
    } catch (err) {
      if (FleetError.isInstance(err)) {
        if (err.code !== "SPEC_INVALID") throw err;
        return { issues: err.issues.length > 0 ? [...err.issues] : [{ path: err.path ?? "", message: err.message }] };
      }
      return { issues: [{ path: "", message: messageOf(err, `rejected by the ${type} parse function`) }] };
    }
  };
}

function messageOf(err: unknown, fallback = "rejected by the spec type"): string {
  return err instanceof Error && err.message ? err.message : fallback;
}

function mergeIssues(a: FleetIssue[], b: FleetIssue[]): FleetIssue[] {
  if (a.length === 0) return b;
  const seen = new Set(a.map((i) => i.path));
  return [...a, ...b.filter((i) => !seen.has(i.path))];
}

/** The registry of the built-in types alone (what `parseInstanceSpec` uses without options). */
export const builtinSpecTypes: SpecTypeRegistry = specTypeRegistry();
