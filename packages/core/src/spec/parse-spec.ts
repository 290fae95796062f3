import { FleetError, type FleetIssue, specInvalid } from "../errors.js";
import type { AnyInstanceSpec, CustomSpec, InstanceSpec } from "../model/spec-types.js";
import { cloneJson, inspectDocument, isRecord, jsonEquals, zodIssues } from "./issues.js";
import { normalizeDocker, normalizeProcess, normalizeUrl } from "./normalize.js";
import { dockerWire, processWire, urlWire } from "./wire-schemas.js";

/** Parser of an adopter's spec type: validates `raw` and returns the normalized spec. */
export type CustomSpecParser = (raw: Record<string, unknown>) => CustomSpec;

export interface ParseSpecOptions {
  /** Adopter spec types by `type` value. Built-in types (`docker`, `container`, `url`, `process`) cannot be overridden. */
  types?: Record<string, CustomSpecParser>;
}

export const BUILTIN_SPEC_TYPES = ["docker", "container", "url", "process"] as const;

/**
 * Results of recent successful parses of built-in types, keyed by the document's JSON text. Only
 * pure JSON documents are memoized (so the text represents them exactly); callers get a deep copy.
 * The engine re-parses the same stored json_spec on every reconcile and probe.
 */
const memo = new Map<string, InstanceSpec>();
const MEMO_MAX = 512;
/** Same, by document identity, verified against a snapshot so later mutation is noticed. */
const byObject = new WeakMap<object, { snapshot: unknown; spec: InstanceSpec }>();

/**
 * Validates a wire `json_spec` and returns the normalized camelCase spec (`model/spec-types.ts`).
 * Every problem is reported at once: `SPEC_INVALID` with `issues: {path, message}[]`, paths
 * relative to the spec (`port`, `environment.API_KEY`, `resources.memory_limit`). Never throws
 * anything but a `FleetError`. Unknown keys are tolerated and ignored (docker-compose style
 * extras); the keys `__proto__`, `constructor` and `prototype` are refused anywhere.
 * Successful parses of pure JSON documents are memoized (returned as fresh copies).
 */
export function parseInstanceSpec(input: unknown, options?: ParseSpecOptions): AnyInstanceSpec {
  if (!isRecord(input)) throw specInvalid([{ path: "", message: "must be an object with a type" }], "spec");
  const seen = byObject.get(input);
  if (seen && jsonEquals(input, seen.snapshot)) return cloneJson(seen.spec);
  const type = input.type;
  const { reserved, pure } = inspectDocument(input);
  const builtin = type === "docker" || type === "container" || type === "url" || type === "process";
  const key = pure && builtin && reserved.length === 0 ? JSON.stringify(input) : undefined;
  if (key !== undefined) {
    const hit = memo.get(key);
    if (hit) {
      byObject.set(input, { snapshot: cloneJson(input), spec: hit });
      return cloneJson(hit);
    }
  }
  if (typeof type !== "string") {
    throw specInvalid(
      [{ path: "type", message: "must be one of docker, container, url, process" }, ...reserved],
      "spec",
    );
  }
  let result: { success: true; data: unknown } | { success: false; error: { issues: Parameters<typeof zodIssues>[0] } };
  let normalize: (data: never) => InstanceSpec;
  switch (type) {
    case "docker":
    case "container":
      result = dockerWire.safeParse(input);
      normalize = normalizeDocker as (d: never) => InstanceSpec;
      break;
    case "url":
      result = urlWire.safeParse(input);
      normalize = normalizeUrl as (d: never) => InstanceSpec;
      break;
    case "process":
      result = processWire.safeParse(input);
      normalize = normalizeProcess as (d: never) => InstanceSpec;
      break;
    default:
      return parseCustom(type, input, reserved, options);
  }
  if (!result.success || reserved.length > 0) {
    const issues = result.success ? [] : zodIssues(result.error.issues);
    throw specInvalid(mergeIssues(reserved, issues), `${type} spec`);
  }
  const spec = normalize(result.data as never);
  if (key !== undefined) {
    if (memo.size >= MEMO_MAX) memo.delete(memo.keys().next().value as string);
    const frozen = cloneJson(spec);
    memo.set(key, frozen);
    byObject.set(input, { snapshot: cloneJson(input), spec: frozen });
  }
  return spec;
}

function parseCustom(
  type: string,
  input: Record<string, unknown>,
  reserved: FleetIssue[],
  options?: ParseSpecOptions,
): CustomSpec {
  const parser = options?.types && Object.hasOwn(options.types, type) ? options.types[type] : undefined;
  if (!parser) {
    const extra = options?.types ? Object.keys(options.types) : [];
    throw specInvalid(
      [
        { path: "type", message: `unknown spec type; expected one of ${[...BUILTIN_SPEC_TYPES, ...extra].join(", ")}` },
        ...reserved,
      ],
      "spec",
    );
  }
  if (reserved.length > 0) throw specInvalid(reserved, `${type} spec`);
  let spec: CustomSpec;
  try {
    spec = parser(input);
  } catch (err) {
    if (FleetError.isInstance(err)) throw err;
    const message = err instanceof Error ? err.message : "rejected by the spec type's parser";
    throw new FleetError("SPEC_INVALID", `invalid ${type} spec: ${message}`, {
      path: "",
      issues: [{ path: "", message }],
      cause: err,
      isRetryable: false,
    });
  }
  if (!isRecord(spec) || spec.type !== type || !isRecord(spec.environment)) {
    throw new FleetError(
      "SPEC_INVALID",
      `the parser of spec type ${type} returned an invalid spec (needs type and environment)`,
      {
        path: "type",
        isRetryable: false,
      },
    );
  }
  return spec;
}

function mergeIssues(a: FleetIssue[], b: FleetIssue[]): FleetIssue[] {
  if (a.length === 0) return b;
  const seen = new Set(a.map((i) => i.path));
  return [...a, ...b.filter((i) => !seen.has(i.path))];
}
