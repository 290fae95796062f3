import { describe, expect, it } from "vitest";
import { type DeployRequest, memoryRuntime } from "../../src/index.js";
import { runtimeConformance } from "../../src/testing/index.js";

const request = (id: string, variant: "a" | "b"): DeployRequest => ({
  instance: { id, name: id, generation: 1, specHash: `hash-${variant}` },
  spec: {
    type: "docker",
    image: "mcp/x:1",
    transport: "streamable-http",
    environment: variant === "a" ? {} : { B: "1" },
    volumes: [],
    restartPolicy: "no",
    labels: {},
    replicas: 1,
  },
  env: variant === "a" ? {} : { B: "1" },
  secrets: { env: {}, headers: {} },
});

runtimeConformance("memoryRuntime", () => memoryRuntime(), { request });
runtimeConformance("memoryRuntime with a start delay", () => memoryRuntime({ startDelayMs: 30 }), { request });

describe("memoryRuntime specifics", () => {
  it("reports a crash as exited with the code, and keeps log lines bounded", async () => {
    const rt = memoryRuntime({ logLimit: 3 });
    await rt.deploy(request("x", "a"));
    for (let i = 0; i < 10; i++) rt.emitLog("x", `line ${i}`);
    rt.crash("x", 9);
    expect(await rt.inspect("x")).toMatchObject({ phase: "exited", exitCode: 9 });
    const lines = [];
    for await (const l of rt.logs("x")) lines.push(l.line);
    expect(lines).toEqual(["line 8", "line 9", "exited with code 9"]);
    await rt.close();
  });

  it("follow streams new lines until aborted", async () => {
    const rt = memoryRuntime();
    await rt.deploy(request("y", "a"));
    const ctrl = new AbortController();
    const got: string[] = [];
    const reading = (async () => {
      for await (const l of rt.logs("y", { follow: true, tail: 0, signal: ctrl.signal })) {
        got.push(l.line);
        if (got.length === 2) ctrl.abort();
      }
    })();
    rt.emitLog("y", "one");
    rt.emitLog("y", "two");
    await reading;
    expect(got).toEqual(["one", "two"]);
    await rt.close();
  });
});
