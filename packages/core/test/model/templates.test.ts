import { type FleetError, parseInstanceSpec, parseTemplate, templateInstanceInput } from "@mcpfleet/core";
import { describe, expect, it } from "vitest";
import { seed } from "./seeds.js";

describe("templates", () => {
  it("loads the default_config format: required_env_vars become required entries", () => {
    const t = parseTemplate(seed("template-my-mcp.json"));
    expect(t).toEqual({
      key: "my-mcp",
      name: "my-mcp",
      description: "My custom MCP server",
      json_spec: {
        type: "docker",
        image: "my-org/my-mcp:latest",
        port: 8000,
        environment: { MCP_SERVICE_NAME: "my-mcp" },
        resources: { memory_limit: "512m", cpu_limit: "0.5" },
      },
      env_schema: [{ name: "MCP_SERVICE_NAME", type: "string", required: true, secret: false }],
      capabilities: ["custom-capability"],
    });
    expect(parseInstanceSpec(t.json_spec)).toMatchObject({
      resources: { memoryBytes: 512 * 1024 ** 2, milliCpus: 500 },
    });
  });

  it("loads the flat format", () => {
    const t = parseTemplate(seed("template-fastapi.json"));
    expect(t.key).toBe("fastapi");
    expect(t.json_spec).toEqual({
      type: "docker",
      image: "python:3.11-slim",
      port: 8000,
      environment: { PYTHONPATH: "/app" },
      volumes: { "./app": "/app" },
      command: ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"],
    });
    expect(t.env_schema).toEqual([]);
    expect(t.capabilities).toEqual([]);
  });

  it("applies the create-from-template request", () => {
    const t = parseTemplate(seed("template-fastapi.json"));
    const req = seed<{ service_name: string; environment: Record<string, string>; replicas: number }>(
      "create-from-template-request.json",
    );
    const input = templateInstanceInput(t, req);
    expect(input.name).toBe("my-app");
    expect(input.json_spec.environment).toEqual({ PYTHONPATH: "/app", DATABASE_URL: "sqlite:///app.db" });
    expect(input.json_spec.replicas).toBe(2);
    expect(parseInstanceSpec(input.json_spec)).toMatchObject({
      replicas: 2,
      volumes: [{ source: "./app", kind: "bind", target: "/app" }],
    });
    // The template itself is unchanged.
    expect(t.json_spec.environment).toEqual({ PYTHONPATH: "/app" });
    expect(templateInstanceInput(t, {}).name).toBe("fastapi");
  });

  it("refuses bad templates and overrides with SPEC_INVALID and paths", () => {
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as FleetError;
      }
      throw new Error("accepted");
    };
    expect(err(() => parseTemplate(null)).code).toBe("SPEC_INVALID");
    expect(
      err(() => parseTemplate({ name: "x", default_config: { image: "x", port: 0 } })).issues.map((i) => i.path),
    ).toEqual(["default_config.port"]);
    expect(err(() => parseTemplate({ name: "bad name", image: "x" })).issues.map((i) => i.path)).toEqual(["name"]);
    expect(
      err(() => parseTemplate({ name: "t", image: "x", required_env_vars: ["1X"] })).issues.map((i) => i.path),
    ).toEqual(["required_env_vars.0"]);
    expect(
      err(() => parseTemplate({ name: "t", image: "x", required_env_vars: ["__proto__"] })).issues.map((i) => i.path),
    ).toEqual(["required_env_vars.0"]);
    const t = parseTemplate(seed("template-fastapi.json"));
    expect(err(() => templateInstanceInput(t, { replicas: 500 })).issues.map((i) => i.path)).toEqual(["replicas"]);
    expect(
      err(() => templateInstanceInput(t, { environment: { A: null } } as never)).issues.map((i) => i.path),
    ).toEqual(["environment.A"]);
  });
});
