import type { AnyInstanceSpec } from "../model/spec-types.js";
import { builtinSpecTypes, type SpecTypeDefinition, type SpecTypeRegistry, specTypeRegistry } from "./spec-registry.js";

export interface ParseSpecOptions {
  /**
   * The spec types to parse with: a registry (`specTypeRegistry(...)`, what a fleet uses) or the
   * adopter's definitions by `type` value (built-ins are always there and cannot be replaced).
   */
  types?: SpecTypeRegistry | Record<string, SpecTypeDefinition>;
}

const registries = new WeakMap<object, SpecTypeRegistry>();

/** The registry `types` stands for (built-ins alone when absent); records are turned into one once. */
export function specTypeRegistryOf(types: ParseSpecOptions["types"]): SpecTypeRegistry {
  if (!types) return builtinSpecTypes;
  if (isRegistry(types)) return types;
  let r = registries.get(types);
  if (!r) {
    r = specTypeRegistry(types);
    registries.set(types, r);
  }
  return r;
}

function isRegistry(v: object): v is SpecTypeRegistry {
  const r = v as Partial<SpecTypeRegistry>;
  return Array.isArray(r.types) && typeof r.parse === "function" && typeof r.has === "function";
}

/**
 * Validates a wire `json_spec` and returns the normalized camelCase spec (`model/spec-types.ts`).
 * Every problem is reported at once: `SPEC_INVALID` with `issues: {path, message}[]`, paths
 * relative to the spec (`port`, `environment.API_KEY`, `resources.memory_limit`). Never throws
 * anything but a `FleetError`. Unknown keys are tolerated and ignored (docker-compose style
 * extras); the keys `__proto__`, `constructor` and `prototype` are refused anywhere.
 * Successful parses of pure JSON documents of built-in types are memoized (returned as fresh copies).
 * Adopter types come from `options.types` (see `specTypeRegistry`).
 */
export function parseInstanceSpec(input: unknown, options?: ParseSpecOptions): AnyInstanceSpec {
  return specTypeRegistryOf(options?.types).parse(input);
}
