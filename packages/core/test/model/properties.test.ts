import {
  FleetError,
  formatSecretRef,
  parseEnvSchema,
  parseInstanceSpec,
  parseSecretRef,
  parseServerDefinition,
  parseTemplate,
  validateEnvironment,
} from "@mcpfleet/core";
import { specHash } from "@mcpfleet/core/adapter";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stableStringify } from "../../src/util/stable-json.js";
import { SEED_FILES, seed } from "./seeds.js";

/** Runs fn; anything thrown must be a FleetError (never a TypeError or RangeError). */
function onlyFleetErrors(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (!FleetError.isInstance(err)) throw err;
    expect(err.issues.every((i) => typeof i.path === "string" && typeof i.message === "string")).toBe(true);
    return true;
  }
}

const specSeeds = [
  "instance-spec-docker-full.json",
  "instance-spec-docker-minimal.json",
  "instance-spec-url-full.json",
  "instance-spec-url-shorthand.json",
].map((f) => seed(f));
const hostileKey = fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty");
const weird = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    -0,
    1e308,
    -1e308,
    "NaN",
    "Infinity",
    "",
    "0x10",
    "1e3",
    "256m",
    "0.5",
    null,
    [],
    {},
  ),
);

/** Seed spec with one field replaced, removed, or a hostile key added (as JSON.parse would). */
const mutatedSpec = fc
  .tuple(
    fc.constantFrom(...specSeeds),
    fc.constantFrom(
      "type",
      "image",
      "port",
      "environment",
      "command",
      "resources",
      "health_check",
      "endpoint",
      "timeout",
      "authentication",
      "volumes",
      "replicas",
    ),
    weird,
    fc.nat(3),
    hostileKey,
  )
  .map(([base, field, value, mode, hk]) => {
    const copy = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
    if (mode === 0) copy[field] = value;
    else if (mode === 1) delete copy[field];
    else if (mode === 2)
      return JSON.parse(`{"${hk}": ${JSON.stringify(value ?? null)}, ${JSON.stringify(copy).slice(1)}`);
    else if (typeof copy.environment === "object" && copy.environment)
      (copy.environment as Record<string, unknown>)[String(field)] = value;
    return copy;
  });

describe("property: parsers never throw anything but FleetError", () => {
  it("parseInstanceSpec on arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => onlyFleetErrors(() => parseInstanceSpec(v))),
      { numRuns: 400 },
    );
  });

  it("parseInstanceSpec on arbitrary objects with a known type", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("docker", "container", "url", "process"),
        fc.dictionary(fc.string(), weird),
        (type, rest) => onlyFleetErrors(() => parseInstanceSpec({ ...rest, type })),
      ),
      { numRuns: 400 },
    );
  });

  it("parseInstanceSpec on mutated seed specs", () => {
    fc.assert(
      fc.property(mutatedSpec, (v) => onlyFleetErrors(() => parseInstanceSpec(v))),
      { numRuns: 600 },
    );
  });

  it("parseServerDefinition, parseEnvSchema, parseTemplate on arbitrary JSON", () => {
    const server = seed("server-filesystem.json");
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.constantFrom("name", "env_schema", "docker_image_url", "tags", "status"),
        (v, field) => {
          onlyFleetErrors(() => parseServerDefinition(v));
          onlyFleetErrors(() => parseServerDefinition({ ...server, [field]: v }));
          onlyFleetErrors(() => parseEnvSchema(v));
          onlyFleetErrors(() => parseEnvSchema([v]));
          onlyFleetErrors(() => parseTemplate(v));
          return true;
        },
      ),
      { numRuns: 400 },
    );
  });

  it("validateEnvironment on arbitrary environments and schemas", () => {
    const schema = seed<unknown[]>("env-schema.json");
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.dictionary(fc.oneof(fc.string(), hostileKey, fc.constantFrom("API_KEY", "MAX_CONNECTIONS")), weird),
        (v, env) => {
          onlyFleetErrors(() => validateEnvironment(schema, v));
          onlyFleetErrors(() => validateEnvironment(schema, JSON.parse(JSON.stringify(env))));
          onlyFleetErrors(() => validateEnvironment(v, {}));
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });

  it("parseSecretRef on arbitrary values", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.string().map((s) => `secret_ref:${s}`),
        ),
        (v) => onlyFleetErrors(() => parseSecretRef(v)),
      ),
      { numRuns: 500 },
    );
  });
});

describe("property: round trips and invariants", () => {
  const part = fc.stringMatching(/^[A-Za-z0-9_.-]{1,40}$/);

  it("formatSecretRef(parseSecretRef(x)) === x for valid refs", () => {
    fc.assert(
      fc.property(part, part, (scope, key) => {
        const s = `secret_ref:${scope}:${key}`;
        expect(parseSecretRef(s)).toEqual({ scope, key });
        expect(formatSecretRef(parseSecretRef(s))).toBe(s);
      }),
    );
  });

  it("parse is idempotent on the seeds and specHash ignores key order", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...specSeeds),
        fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,10}$/), fc.string()),
        (s, env) => {
          const shuffled = Object.fromEntries(Object.entries(s).reverse());
          const a = parseInstanceSpec(s);
          const b = parseInstanceSpec(shuffled);
          expect(a).toEqual(b);
          const envReversed = Object.fromEntries(Object.entries(env).reverse());
          expect(specHash(a, env)).toBe(specHash(b, envReversed));
          expect(stableStringify(a)).toBe(stableStringify(b));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("every seed fixture is covered", () => {
  it("parses each seed with the parser for its kind", () => {
    const covered: string[] = [];
    for (const f of SEED_FILES) {
      const doc = seed(f);
      if (f.startsWith("instance-spec-")) parseInstanceSpec(doc);
      else if (f.startsWith("instance-")) parseInstanceSpec(doc.json_spec);
      else if (f.startsWith("server-")) parseServerDefinition(doc);
      else if (f === "env-schema.json") parseEnvSchema(doc);
      else if (f.startsWith("template-")) parseTemplate(doc);
      else if (f.startsWith("legacy-event-")) {
        const inner = JSON.parse((doc as { data: string }).data) as { data: { json_spec?: unknown } };
        if (inner.data.json_spec) parseInstanceSpec(inner.data.json_spec);
      } else if (f === "container-start-request.json" || f === "create-from-template-request.json") {
        // covered in spec-parse.test.ts and templates.test.ts
      } else throw new Error(`seed ${f} has no parser`);
      covered.push(f);
    }
    expect(covered).toHaveLength(15);
  });
});
