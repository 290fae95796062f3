import {
  type ContainerSpec,
  FleetError,
  type ProcessSpec,
  parseContainerStartRequest,
  parseInstanceSpec,
  type UrlSpec,
} from "@mcpfleet/core";
import { specHash } from "@mcpfleet/core/adapter";
import { describe, expect, it } from "vitest";
import { seed } from "./seeds.js";

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    parseInstanceSpec(input);
  } catch (err) {
    expect(FleetError.isInstance(err)).toBe(true);
    expect((err as FleetError).code).toBe("SPEC_INVALID");
    return (err as FleetError).issues;
  }
  throw new Error("expected SPEC_INVALID");
}

const paths = (input: unknown) => issuesOf(input).map((i) => i.path);

describe("parseInstanceSpec: seed specs verbatim", () => {
  it("docker minimal: secret ref kept in the environment, quantities parsed", () => {
    const s = parseInstanceSpec(seed("instance-spec-docker-minimal.json")) as ContainerSpec;
    expect(s).toEqual({
      type: "docker",
      image: "mcp/filesystem:latest",
      port: 8001,
      transport: "streamable-http",
      environment: { API_KEY: "secret_ref:instance_123:API_KEY" },
      command: ["python", "-m", "mcp_filesystem"],
      resources: {
        memoryBytes: 256 * 1024 * 1024,
        memoryLimit: "256m",
        nanoCpus: 500_000_000,
        milliCpus: 500,
        cpuLimit: "0.5",
      },
      volumes: [],
      restartPolicy: "on-failure",
      labels: {},
      replicas: 1,
    });
  });

  it("docker full: health check path /health, interval 30 s, timeout 10 s", () => {
    const s = parseInstanceSpec(seed("instance-spec-docker-full.json")) as ContainerSpec;
    expect(s.healthCheck).toEqual({ path: "/health", intervalMs: 30_000, timeoutMs: 10_000, retries: 3 });
    expect(s.environment).toEqual({
      ALLOWED_DIRECTORIES: "/tmp,/var/tmp",
      MAX_FILE_SIZE: "5MB",
      API_KEY: "secret_ref:instance_123:API_KEY",
    });
  });

  it("url shorthand: bare health_check string is the path; timeout seconds -> ms", () => {
    const s = parseInstanceSpec(seed("instance-spec-url-shorthand.json")) as UrlSpec;
    expect(s).toEqual({
      type: "url",
      endpoint: "http://localhost:3333/mcp",
      transport: "streamable-http",
      headers: {},
      healthCheck: { path: "/health", intervalMs: 30_000, timeoutMs: 5_000, retries: 3 },
      timeoutMs: 30_000,
    });
  });

  it("url full: bearer token stays a secret ref", () => {
    const s = parseInstanceSpec(seed("instance-spec-url-full.json")) as UrlSpec;
    expect(s.authentication).toEqual({ type: "bearer", token: "secret_ref:instance_123:AUTH_TOKEN" });
    expect(s.healthCheck?.timeoutMs).toBe(10_000);
  });

  it("json_spec of the instance seeds", () => {
    expect(parseInstanceSpec(seed<{ json_spec: unknown }>("instance-filesystem.json").json_spec)).toMatchObject({
      type: "docker",
      port: 8001,
    });
    expect(parseInstanceSpec(seed<{ json_spec: unknown }>("instance-external-url.json").json_spec)).toMatchObject({
      type: "url",
      healthCheck: { path: "/health", intervalMs: 30_000 },
    });
  });

  it("json_spec inside the legacy created event", () => {
    const outer = seed<{ data: string }>("legacy-event-instance-created.json");
    const spec = (JSON.parse(outer.data) as { data: { json_spec: unknown } }).data.json_spec;
    expect(parseInstanceSpec(spec)).toMatchObject({ type: "docker", image: "mcp/filesystem:latest" });
  });

  it("does not modify its input and returns independent copies", () => {
    const input = seed("instance-spec-docker-full.json");
    const before = JSON.stringify(input);
    const a = parseInstanceSpec(input) as ContainerSpec;
    a.environment.X = "mutated";
    (a.command as string[]).push("--mutated");
    const b = parseInstanceSpec(input) as ContainerSpec;
    expect(b.environment.X).toBeUndefined();
    expect(b.command).toEqual(["python", "-m", "mcp_filesystem"]);
    expect(JSON.stringify(input)).toBe(before);
    // Mutating the input after a parse is noticed.
    (input as { port: unknown }).port = 70000;
    expect(paths(input)).toEqual(["port"]);
  });
});

describe("parseInstanceSpec: normalization", () => {
  const docker = (extra: Record<string, unknown>) =>
    parseInstanceSpec({ type: "docker", image: "nginx", ...extra }) as ContainerSpec;

  it("container is an alias of docker", () => {
    expect(parseInstanceSpec({ type: "container", image: "nginx" }).type).toBe("docker");
  });

  it.each([
    ["256m", 268435456],
    ["1g", 1073741824],
    ["512Mi", 536870912],
    ["1Gi", 1073741824],
    ["1.5g", 1610612736],
    ["64MB", 67108864],
    [134217728, 134217728],
    ["134217728", 134217728],
  ])("memory %s -> %d bytes (original string kept)", (q, bytes) => {
    const r = docker({ resources: { memory_limit: q } }).resources;
    expect(r?.memoryBytes).toBe(bytes);
    expect(r?.memoryLimit).toBe(String(q));
  });

  it.each([
    ["0.5", 500_000_000, 500],
    ["1.0", 1_000_000_000, 1000],
    ["500m", 500_000_000, 500],
    [2, 2_000_000_000, 2000],
    ["0.25", 250_000_000, 250],
  ])("cpu %s -> nanoCpus %d, milliCpus %d", (q, nano, milli) => {
    const r = docker({ resources: { cpu_limit: q } }).resources;
    expect(r).toMatchObject({ nanoCpus: nano, milliCpus: milli, cpuLimit: String(q) });
  });

  it("env values: numbers and booleans are stringified", () => {
    expect(docker({ environment: { A: 1, B: true, C: "x", D: 1.5 } }).environment).toEqual({
      A: "1",
      B: "true",
      C: "x",
      D: "1.5",
    });
  });

  it("volumes in object and array form", () => {
    expect(
      docker({ volumes: { "/host/path": "/container/path", "./app": "/app:ro", data: { bind: "/data", mode: "ro" } } })
        .volumes,
    ).toEqual([
      { source: "/host/path", kind: "bind", target: "/container/path", readOnly: false },
      { source: "./app", kind: "bind", target: "/app", readOnly: true },
      { source: "data", kind: "volume", target: "/data", readOnly: true },
    ]);
    expect(
      docker({
        volumes: [
          { source: "cache", target: "/cache" },
          { source: "../up", target: "/up", read_only: true },
        ],
      }).volumes,
    ).toEqual([
      { source: "cache", kind: "volume", target: "/cache", readOnly: false },
      { source: "../up", kind: "bind", target: "/up", readOnly: true },
    ]);
  });

  it("defaults: restart_policy on-failure, replicas 1, transport streamable-http; health check defaults", () => {
    const s = docker({ health_check: {} });
    expect(s).toMatchObject({ restartPolicy: "on-failure", replicas: 1, transport: "streamable-http" });
    expect(s.healthCheck).toEqual({ intervalMs: 30_000, timeoutMs: 5_000, retries: 3 });
    expect(docker({ health_check: { interval: 0.5, retries: 5 } }).healthCheck).toEqual({
      intervalMs: 500,
      timeoutMs: 5_000,
      retries: 5,
    });
  });

  it.each([
    "nginx",
    "nginx:1.25",
    "library/nginx:latest",
    "localhost:5000/team/app:v1",
    "registry.example.com:5000/org/sub/name:tag-1.0",
    "ghcr.io/owner/repo@sha256:" + "a".repeat(64),
    "quay.io/org/image:tag@sha256:" + "0123456789abcdef".repeat(4),
    "my-org/my-mcp:latest",
    "python:3.11-slim",
    "a__b/c.d-e:T_a.g-1",
    "[::1]:5000/img",
  ])("accepts image %s", (image) => {
    expect(docker({ image }).image).toBe(image);
  });

  it("process and url specs", () => {
    const p = parseInstanceSpec({
      type: "process",
      command: ["node", "server.js"],
      args: ["--stdio"],
      cwd: "/srv",
      environment: { A: 1 },
    }) as ProcessSpec;
    expect(p).toEqual({
      type: "process",
      command: ["node", "server.js"],
      args: ["--stdio"],
      cwd: "/srv",
      environment: { A: "1" },
      transport: "stdio",
      restartPolicy: "on-failure",
    });
    const u = parseInstanceSpec({
      type: "url",
      endpoint: "https://mcp.example.com/mcp",
      transport: "sse",
      headers: { "X-Api-Key": "secret_ref:i:X" },
    }) as UrlSpec;
    expect(u.headers).toEqual({ "X-Api-Key": "secret_ref:i:X" });
    expect(u.transport).toBe("sse");
  });

  it("custom types through options.types; built-ins cannot be overridden", () => {
    const types = {
      lambda: (raw: Record<string, unknown>) => {
        if (typeof raw.fn !== "string") throw new Error("fn must be a string");
        return { type: "lambda", environment: {}, raw };
      },
    };
    expect(parseInstanceSpec({ type: "lambda", fn: "f" }, { types })).toMatchObject({
      type: "lambda",
      raw: { fn: "f" },
    });
    const e = (() => {
      try {
        parseInstanceSpec({ type: "lambda" }, { types });
      } catch (err) {
        return err as FleetError;
      }
    })();
    expect(e?.code).toBe("SPEC_INVALID");
    expect(e?.message).toContain("fn must be a string");
    expect(paths({ type: "lambda" })).toEqual(["type"]);
    expect(() =>
      parseInstanceSpec(
        { type: "docker", image: "nginx" },
        { types: { docker: () => ({ type: "docker", environment: {}, raw: {} }) } },
      ),
    ).toThrow(expect.objectContaining({ code: "OPTIONS_INVALID", path: "specTypes.docker" }));
  });
});

describe("parseContainerStartRequest", () => {
  it("maps the flat seed body to an equivalent docker json_spec", () => {
    const { json_spec, spec } = parseContainerStartRequest(seed("container-start-request.json"));
    expect(json_spec).toEqual({
      type: "docker",
      image: "your-mcp-image:latest",
      port: 8000,
      environment: { ENV_VAR: "value" },
      volumes: { "/host/path": "/container/path" },
      restart_policy: "unless-stopped",
      labels: { "custom.label": "value" },
      resources: { memory_limit: "512m", cpu_limit: "1.0" },
      health_check: { path: "/health", interval: 30 },
    });
    expect(spec.volumes).toEqual([{ source: "/host/path", kind: "bind", target: "/container/path", readOnly: false }]);
    expect(spec.resources).toMatchObject({ memoryBytes: 512 * 1024 ** 2, nanoCpus: 1e9 });
    expect(spec.healthCheck).toEqual({ path: "/health", intervalMs: 30_000, timeoutMs: 5_000, retries: 3 });
    expect(spec.restartPolicy).toBe("unless-stopped");
    expect(parseInstanceSpec(json_spec)).toEqual(spec);
  });

  it("bad flat fields are reported at their json_spec paths", () => {
    let err: FleetError | undefined;
    try {
      parseContainerStartRequest({ image: "x", memory_limit: "huge", health_check_interval: -1 });
    } catch (e) {
      err = e as FleetError;
    }
    expect(err?.issues.map((i) => i.path).sort()).toEqual(["health_check.interval", "resources.memory_limit"]);
    expect(() => parseContainerStartRequest(null)).toThrow(FleetError);
  });
});

describe("specHash", () => {
  it("is stable across key order and changes with spec or env", () => {
    const a = parseInstanceSpec({ type: "docker", image: "nginx", environment: { A: "1", B: "2" }, port: 80 });
    const b = parseInstanceSpec({ port: 80, environment: { B: "2", A: "1" }, image: "nginx", type: "container" });
    expect(specHash(a, { X: "1", Y: "2" })).toBe(specHash(b, { Y: "2", X: "1" }));
    expect(specHash(a, { X: "1" })).toMatch(/^[0-9a-f]{64}$/);
    expect(specHash(a, { X: "2" })).not.toBe(specHash(a, { X: "1" }));
    expect(specHash(parseInstanceSpec({ type: "docker", image: "nginx", port: 81 }), {})).not.toBe(
      specHash(parseInstanceSpec({ type: "docker", image: "nginx", port: 80 }), {}),
    );
  });
});
