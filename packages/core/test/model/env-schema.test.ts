import { FleetError, parseEnvSchema, parseServerDefinition, validateEnvironment } from "@mcpfleet/core";
import { describe, expect, it } from "vitest";
import { seed } from "./seeds.js";

function fail(fn: () => unknown): FleetError {
  try {
    fn();
  } catch (err) {
    expect(FleetError.isInstance(err)).toBe(true);
    return err as FleetError;
  }
  throw new Error("expected a FleetError");
}

describe("parseEnvSchema", () => {
  it("parses the seed schema: MAX_CONNECTIONS default '10' comes out as 10", () => {
    expect(parseEnvSchema(seed("env-schema.json"))).toEqual([
      { name: "API_KEY", type: "string", description: "API key for external service", required: true, secret: true },
      {
        name: "MAX_CONNECTIONS",
        type: "integer",
        description: "Maximum number of connections",
        required: false,
        secret: false,
        default: 10,
      },
    ]);
  });

  it("applies defaults: required false, secret false, type string", () => {
    expect(parseEnvSchema([{ name: "A" }])).toEqual([{ name: "A", type: "string", required: false, secret: false }]);
  });

  it.each<[string, unknown, string[]]>([
    ["not an array", { name: "A" }, [""]],
    ["null", null, [""]],
    ["duplicate names", [{ name: "A" }, { name: "A" }], ["1.name"]],
    ["bad name", [{ name: "1ABC" }], ["0.name"]],
    ["hostile name", [{ name: "A B=1;" }], ["0.name"]],
    ["__proto__ name", [{ name: "__proto__", default: "x" }], ["0.name"]],
    ["constructor name", [{ name: "constructor" }], ["0.name"]],
    ["bad type", [{ name: "A", type: "date" }], ["0.type"]],
    ["bad default for integer", [{ name: "A", type: "integer", default: "ten" }], ["0.default"]],
    ["float default for integer", [{ name: "A", type: "integer", default: 1.5 }], ["0.default"]],
    ["bad default for boolean", [{ name: "A", type: "boolean", default: "yes" }], ["0.default"]],
    ["secret with default", [{ name: "A", secret: true, default: "literal" }], ["0.default"]],
    ["required not boolean", [{ name: "A", required: "yes" }], ["0.required"]],
    ["entry not object", ["A"], ["0"]],
  ])("refuses %s", (_n, input, paths) => {
    const err = fail(() => parseEnvSchema(input));
    expect(err.code).toBe("SPEC_INVALID");
    expect(err.issues.map((i) => i.path)).toEqual(paths);
  });

  it("coerces typed defaults", () => {
    expect(
      parseEnvSchema([
        { name: "N", type: "number", default: "1.5" },
        { name: "B", type: "boolean", default: "false" },
        { name: "S", default: 5 },
      ]),
    ).toEqual([
      { name: "N", type: "number", required: false, secret: false, default: 1.5 },
      { name: "B", type: "boolean", required: false, secret: false, default: false },
      { name: "S", type: "string", required: false, secret: false, default: "5" },
    ]);
  });
});

describe("validateEnvironment", () => {
  const schema = seed<unknown[]>("env-schema.json");

  it("applies defaults and coerces: env strings, typed values", () => {
    expect(validateEnvironment(schema, { API_KEY: "secret_ref:instance_123:API_KEY" })).toEqual({
      env: { API_KEY: "secret_ref:instance_123:API_KEY", MAX_CONNECTIONS: "10" },
      typed: { API_KEY: "secret_ref:instance_123:API_KEY", MAX_CONNECTIONS: 10 },
    });
    const r = validateEnvironment(schema, {
      API_KEY: "secret_ref:i:K",
      MAX_CONNECTIONS: "25",
      EXTRA: "passes through",
    });
    expect(r.typed.MAX_CONNECTIONS).toBe(25);
    expect(r.env.MAX_CONNECTIONS).toBe("25");
    expect(r.env.EXTRA).toBe("passes through");
  });

  it("a secret variable's literal value is refused with SECRET_LITERAL_REFUSED naming the var, never the value", () => {
    const err = fail(() => validateEnvironment(schema, { API_KEY: "canary-literal-42" }));
    expect(err.code).toBe("SECRET_LITERAL_REFUSED");
    expect(err.path).toBe("environment.API_KEY");
    expect(err.issues.map((i) => i.path)).toEqual(["environment.API_KEY"]);
    expect(JSON.stringify(err.toJSON())).not.toContain("canary-literal-42");
    expect(err.message).not.toContain("canary-literal-42");
  });

  it("lists every problem: missing required, bad integer, malformed ref", () => {
    const err = fail(() =>
      validateEnvironment([...schema, { name: "FLAG", type: "boolean" }, { name: "TOKEN", secret: true }], {
        MAX_CONNECTIONS: "ten",
        FLAG: "maybe",
        TOKEN: "secret_ref:bad",
      }),
    );
    expect(err.code).toBe("SPEC_INVALID");
    expect(err.issues.map((i) => i.path).sort()).toEqual([
      "environment.API_KEY",
      "environment.FLAG",
      "environment.MAX_CONNECTIONS",
      "environment.TOKEN",
    ]);
  });

  it("filesystem seeds: ALLOWED_DIRECTORIES required and present, MAX_FILE_SIZE overrides its default", () => {
    const server = parseServerDefinition(seed("server-filesystem.json"));
    const inst = seed<{ json_spec: { environment: Record<string, string> } }>("instance-filesystem.json");
    expect(validateEnvironment(server.env_schema, inst.json_spec.environment).env).toEqual({
      ALLOWED_DIRECTORIES: "/tmp,/var/tmp",
      MAX_FILE_SIZE: "5MB",
    });
    expect(validateEnvironment(server.env_schema, { ALLOWED_DIRECTORIES: "/x" }).env.MAX_FILE_SIZE).toBe("10MB");
    expect(fail(() => validateEnvironment(server.env_schema, {})).issues).toEqual([
      { path: "environment.ALLOWED_DIRECTORIES", message: "is required" },
    ]);
  });

  it("refuses non-object environments, bad values and hostile keys", () => {
    expect(fail(() => validateEnvironment(schema, null)).code).toBe("SPEC_INVALID");
    expect(fail(() => validateEnvironment(schema, ["A"])).code).toBe("SPEC_INVALID");
    const err = fail(() => validateEnvironment([], JSON.parse('{"__proto__": "x", "A": {"b": 1}, "B": null}')));
    expect(err.issues.map((i) => i.path).sort()).toEqual(["environment.A", "environment.B", "environment.__proto__"]);
    expect(fail(() => validateEnvironment("not a schema", {})).code).toBe("SPEC_INVALID");
  });

  it("compiles each schema once (same result for equal schemas in new arrays)", () => {
    const copy = JSON.parse(JSON.stringify(schema)) as unknown[];
    for (let i = 0; i < 100; i++)
      expect(validateEnvironment(copy, { API_KEY: "secret_ref:a:b" }).typed.MAX_CONNECTIONS).toBe(10);
    // The input environment is not mutated by defaults or coercion.
    const env = { API_KEY: "secret_ref:a:b", MAX_CONNECTIONS: "7" };
    validateEnvironment(schema, env);
    expect(env).toEqual({ API_KEY: "secret_ref:a:b", MAX_CONNECTIONS: "7" });
  });
});

describe("parseServerDefinition", () => {
  it("parses the seeds with defaults", () => {
    expect(parseServerDefinition(seed("server-external-url.json"))).toEqual({
      name: "external-mcp",
      description: "External MCP service",
      docker_image_url: "",
      tags: [],
      status: "active",
      is_public: false,
      env_schema: [],
    });
    const fs = parseServerDefinition(seed("server-filesystem.json"));
    expect(fs.env_schema[0]).toEqual({ name: "ALLOWED_DIRECTORIES", type: "string", required: true, secret: false });
    expect(fs.docker_image_url).toBe("mcp/filesystem:latest");
  });

  it("lists every issue with paths, including nested env schema entries", () => {
    const err = fail(() =>
      parseServerDefinition({
        name: "",
        docker_image_url: "bad image!",
        tags: "x",
        status: "gone",
        is_public: "yes",
        env_schema: [{ name: "A" }, { name: "A" }],
      }),
    );
    expect(err.code).toBe("SPEC_INVALID");
    expect(err.issues.map((i) => i.path).sort()).toEqual([
      "docker_image_url",
      "env_schema.1.name",
      "is_public",
      "name",
      "status",
      "tags",
    ]);
    expect(fail(() => parseServerDefinition(null)).code).toBe("SPEC_INVALID");
    expect(fail(() => parseServerDefinition(JSON.parse('{"name":"a","__proto__":{"x":1}}'))).issues[0]?.path).toBe(
      "__proto__",
    );
  });

  it("ignores server-assigned fields and keeps id, version, tags", () => {
    expect(
      parseServerDefinition({
        id: "s1",
        name: "n",
        version: "1.2.0",
        tags: ["a", "a", "b"],
        revision: 3,
        created_at: "x",
        status: "deprecated",
        is_public: true,
      }),
    ).toEqual({
      id: "s1",
      name: "n",
      version: "1.2.0",
      tags: ["a", "b"],
      status: "deprecated",
      is_public: true,
      env_schema: [],
    });
  });
});
