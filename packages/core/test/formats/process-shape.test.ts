import { describe, expect, it } from "vitest";
import { extractSecrets, type FleetError, type ProcessSpec, parseInstanceSpec } from "../../src/index.js";
import { specHash } from "../../src/spec/spec-hash.js";

const parse = (doc: unknown) => parseInstanceSpec(doc) as ProcessSpec;

describe("process specs in the ecosystem's shape", () => {
  it.each([
    {
      what: "string command with args (mcpServers shape)",
      doc: { type: "process", command: "npx", args: ["-y", "@modelcontextprotocol/server-memory"] },
      command: ["npx"],
      args: ["-y", "@modelcontextprotocol/server-memory"],
      env: {},
    },
    {
      what: "array command (the original form)",
      doc: { type: "process", command: ["node", "server.js"], environment: { A: "1" } },
      command: ["node", "server.js"],
      args: undefined,
      env: { A: "1" },
    },
    {
      what: "env as an alias of environment, numbers stringified",
      doc: { type: "process", command: "uvx", args: ["mcp-server-time"], env: { TZ: "UTC", N: 3 } },
      command: ["uvx"],
      args: ["mcp-server-time"],
      env: { TZ: "UTC", N: "3" },
    },
    {
      what: "cwd kept",
      doc: { type: "process", command: "python", args: ["-m", "srv"], cwd: "/srv/app" },
      command: ["python"],
      args: ["-m", "srv"],
      env: {},
      cwd: "/srv/app",
    },
  ])("$what", ({ doc, command, args, env, cwd }) => {
    const spec = parse(doc);
    expect(spec.command).toEqual(command);
    expect(spec.args).toEqual(args);
    expect(spec.environment).toEqual(env);
    expect(spec.cwd).toBe(cwd);
    expect(spec.transport).toBe("stdio");
  });

  it("equivalent forms hash the same (string vs one-element array, env vs environment)", () => {
    const a = parse({ type: "process", command: "npx", args: ["-y", "x"], env: { K: "v" } });
    const b = parse({ type: "process", command: ["npx"], args: ["-y", "x"], environment: { K: "v" } });
    expect(specHash(a)).toBe(specHash(b));
    const c = parse({ type: "process", command: "npx", args: ["-y", "y"], env: { K: "v" } });
    expect(specHash(c)).not.toBe(specHash(a));
  });

  it.each([
    { doc: { type: "process", command: "" }, path: "command" },
    { doc: { type: "process", command: [] }, path: "command" },
    { doc: { type: "process", command: 7 }, path: "command" },
    { doc: { type: "process", command: "a\0b" }, path: "command" },
    { doc: { type: "process", command: "npx", args: "-y" }, path: "args" },
    { doc: { type: "process", command: "npx", env: { "BAD-NAME": "1" } }, path: "env.BAD-NAME" },
    { doc: { type: "process", command: "npx", env: { A: "1" }, environment: { A: "1" } }, path: "env" },
  ])("refuses $doc with SPEC_INVALID at $path", ({ doc, path }) => {
    let err: FleetError | undefined;
    try {
      parseInstanceSpec(doc);
    } catch (e) {
      err = e as FleetError;
    }
    expect(err?.code).toBe("SPEC_INVALID");
    expect(err?.issues.map((i) => i.path)).toContain(path);
  });

  it("secrets given for an env-spelled spec land in env (no second environment key)", () => {
    const { spec, writes } = extractSecrets(
      { type: "process", command: "npx", args: ["-y", "x"], env: { PLAIN: "1" } },
      { API_KEY: "s3cret" },
      "instance_1",
    );
    expect(spec.environment).toBeUndefined();
    expect(spec.env).toEqual({ PLAIN: "1", API_KEY: "secret_ref:instance_1:API_KEY" });
    expect(writes).toHaveLength(1);
    expect(parse(spec).environment.API_KEY).toBe("secret_ref:instance_1:API_KEY");
  });
});
