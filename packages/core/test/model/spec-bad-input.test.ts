import { FleetError, parseInstanceSpec } from "@mcpfleet/core";
import { describe, expect, it } from "vitest";

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

describe("parseInstanceSpec: bad input lists every issue", () => {
  const base = { type: "docker", image: "nginx:latest" };
  const cases: [string, unknown, string[]][] = [
    ["null", null, [""]],
    ["array", [base], [""]],
    ["string", "docker", [""]],
    ["number", 42, [""]],
    ["missing type", { image: "nginx" }, ["type"]],
    ["unknown type", { type: "vm", image: "nginx" }, ["type"]],
    ["type not a string", { type: 1 }, ["type"]],
    ["port 0", { ...base, port: 0 }, ["port"]],
    ["port 65536", { ...base, port: 65536 }, ["port"]],
    ["port -1", { ...base, port: -1 }, ["port"]],
    ["port 80.5", { ...base, port: 80.5 }, ["port"]],
    ["port string", { ...base, port: "8000" }, ["port"]],
    ["port huge", { ...base, port: 1e308 }, ["port"]],
    ["port NaN", { ...base, port: Number.NaN }, ["port"]],
    ["memory 12q", { ...base, resources: { memory_limit: "12q" } }, ["resources.memory_limit"]],
    ["memory negative", { ...base, resources: { memory_limit: "-5m" } }, ["resources.memory_limit"]],
    ["memory NaN string", { ...base, resources: { memory_limit: "NaN" } }, ["resources.memory_limit"]],
    ["memory too small", { ...base, resources: { memory_limit: "1k" } }, ["resources.memory_limit"]],
    ["memory huge", { ...base, resources: { memory_limit: "99999999999999999999g" } }, ["resources.memory_limit"]],
    ["cpu abc", { ...base, resources: { cpu_limit: "abc" } }, ["resources.cpu_limit"]],
    ["cpu 0", { ...base, resources: { cpu_limit: 0 } }, ["resources.cpu_limit"]],
    ["cpu Infinity", { ...base, resources: { cpu_limit: "Infinity" } }, ["resources.cpu_limit"]],
    ["cpu 5000", { ...base, resources: { cpu_limit: 5000 } }, ["resources.cpu_limit"]],
    ["resources array", { ...base, resources: [] }, ["resources"]],
    ["image with ;", { type: "docker", image: "nginx;rm -rf /" }, ["image"]],
    ["image with $()", { type: "docker", image: "$(curl evil)" }, ["image"]],
    ["image with backtick", { type: "docker", image: "nginx`id`" }, ["image"]],
    ["image with space", { type: "docker", image: "nginx latest" }, ["image"]],
    ["image with &&", { type: "docker", image: "a&&b" }, ["image"]],
    ["image with |", { type: "docker", image: "a|b" }, ["image"]],
    ["image with newline", { type: "docker", image: "nginx\nrm" }, ["image"]],
    ["image uppercase repo", { type: "docker", image: "MyOrg/App" }, ["image"]],
    ["image uppercase name", { type: "docker", image: "Nginx" }, ["image"]],
    ["image empty", { type: "docker", image: "" }, ["image"]],
    ["image short digest", { type: "docker", image: "nginx@sha256:abc" }, ["image"]],
    ["image not a string", { type: "docker", image: 5 }, ["image"]],
    ["image missing", { type: "docker" }, ["image"]],
    ["command string", { ...base, command: "python -m x" }, ["command"]],
    ["command with number", { ...base, command: ["python", 1] }, ["command.1"]],
    ["command empty", { ...base, command: [] }, ["command"]],
    ["command with a function", { ...base, command: ["a", () => "b"] }, ["command.1"]],
    ["env Date value", { ...base, environment: { A: new Date(0) } }, ["environment.A"]],
    ["env undefined value", { ...base, environment: { A: undefined } }, ["environment.A"]],
    ["args object", { ...base, args: { a: 1 } }, ["args"]],
    ["env not object", { ...base, environment: ["A=1"] }, ["environment"]],
    ["env null value", { ...base, environment: { A: null } }, ["environment.A"]],
    ["env object value", { ...base, environment: { API_KEY: { v: 1 } } }, ["environment.API_KEY"]],
    ["env bad name", { ...base, environment: { "A-B": "x" } }, ["environment.A-B"]],
    ["env malformed ref", { ...base, environment: { K: "secret_ref:only-scope" } }, ["environment.K"]],
    ["health interval 0", { ...base, health_check: { interval: 0 } }, ["health_check.interval"]],
    ["health interval string", { ...base, health_check: { interval: "30s" } }, ["health_check.interval"]],
    ["health path relative", { ...base, health_check: "health" }, ["health_check"]],
    ["health retries 0", { ...base, health_check: { retries: 0 } }, ["health_check.retries"]],
    ["volumes string", { ...base, volumes: "/a:/b" }, ["volumes"]],
    ["volume target relative", { ...base, volumes: { "/a": "b" } }, ["volumes./a"]],
    ["volume bad source", { ...base, volumes: [{ source: "a b", target: "/b" }] }, ["volumes.0.source"]],
    ["restart bad", { ...base, restart_policy: "sometimes" }, ["restart_policy"]],
    ["replicas 0", { ...base, replicas: 0 }, ["replicas"]],
    ["replicas 101", { ...base, replicas: 101 }, ["replicas"]],
    ["labels number", { ...base, labels: { a: 1 } }, ["labels.a"]],
    ["transport bad", { ...base, transport: "websocket" }, ["transport"]],
    ["url ftp", { type: "url", endpoint: "ftp://x/y" }, ["endpoint"]],
    ["url relative", { type: "url", endpoint: "/mcp" }, ["endpoint"]],
    ["url javascript", { type: "url", endpoint: "javascript:alert(1)" }, ["endpoint"]],
    ["url stdio", { type: "url", endpoint: "http://x/mcp", transport: "stdio" }, ["transport"]],
    ["url timeout 0", { type: "url", endpoint: "http://x/mcp", timeout: 0 }, ["timeout"]],
    [
      "url auth basic",
      { type: "url", endpoint: "http://x/mcp", authentication: { type: "basic", token: "t" } },
      ["authentication.type"],
    ],
    ["url header CRLF", { type: "url", endpoint: "http://x/mcp", headers: { X: "a\r\nb: c" } }, ["headers.X"]],
    [
      "url header name",
      { type: "url", endpoint: "http://x/mcp", headers: { "Bad Header": "v" } },
      ["headers.Bad Header"],
    ],
    ["process no command", { type: "process" }, ["command"]],
    ["process command of a wrong type", { type: "process", command: 42 }, ["command"]],
    ["process empty command string", { type: "process", command: "" }, ["command"]],
  ];

  it.each(cases)("%s", (_name, input, expected) => {
    expect(paths(input)).toEqual(expected);
  });

  it("hostile keys (__proto__, constructor, prototype) are refused, never merged", () => {
    const input = JSON.parse(
      '{"type":"docker","image":"nginx","__proto__":{"polluted":1},"environment":{"constructor":"x","__proto__":"y"},"labels":{"prototype":"p"}}',
    );
    expect(paths(input).sort()).toEqual([
      "__proto__",
      "environment.__proto__",
      "environment.constructor",
      "labels.prototype",
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("reports every problem at once", () => {
    const issues = issuesOf({
      type: "docker",
      image: "Bad Image",
      port: 70000,
      environment: { API_KEY: 5, "BAD-NAME": "x", OK: null },
      command: "ls",
      resources: { memory_limit: "lots", cpu_limit: -1 },
      replicas: 0,
    });
    expect(issues.map((i) => i.path).sort()).toEqual(
      [
        "command",
        "environment.BAD-NAME",
        "environment.OK",
        "image",
        "port",
        "replicas",
        "resources.cpu_limit",
        "resources.memory_limit",
      ].sort(),
    );
    for (const i of issues) expect(i.message.length).toBeGreaterThan(3);
  });

  it("never echoes environment values in messages", () => {
    const err = (() => {
      try {
        parseInstanceSpec({ type: "docker", image: "nginx", environment: { K: "secret_ref:bad ref canary-123" } });
      } catch (e) {
        return e as FleetError;
      }
    })();
    expect(err?.message).not.toContain("canary-123");
  });
});
