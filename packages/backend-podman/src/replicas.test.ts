import type { ObservedInstance } from "@mcpfleet/core";
import { describe, expect, it } from "vitest";
import { LABEL, replicaName } from "./naming.js";
import { type Accepted, combine, type Member, replicaOf, templateHash } from "./replicas.js";

const member = (
  replica: number,
  over: Partial<ObservedInstance> = {},
  labels: Record<string, string> = {},
): Member => ({
  replica,
  labels: { [LABEL.template]: "t1", [LABEL.replicas]: "2", ...labels },
  observed: {
    instanceId: "i",
    specHash: "old",
    generation: 1,
    phase: "running",
    endpoint: `http://127.0.0.1:${4000 + replica}/mcp`,
    transport: "streamable-http",
    ...over,
  },
});
const accepted: Accepted = { template: "t1", specHash: "new", generation: 2, replicas: 2 };

describe("combine: one observation from an instance's copies", () => {
  it("all copies running: running, every endpoint, the first ready copy's endpoint", () => {
    const o = combine("i", [member(1), member(0)], accepted, "all");
    expect(o).toMatchObject({
      phase: "running",
      specHash: "new",
      generation: 2,
      endpoint: "http://127.0.0.1:4000/mcp",
      replicas: { desired: 2, ready: 2 },
    });
    expect(o.replicaEndpoints?.map((r) => r.replica)).toEqual([0, 1]);
  });

  it("a copy down: exited under all (naming the copy), running under any; every copy down is exited under any", () => {
    const down = member(0, {
      phase: "exited",
      endpoint: undefined,
      exitCode: 3,
      reason: "container exited with code 3",
    });
    const strict = combine("i", [down, member(1)], accepted, "all");
    expect(strict).toMatchObject({ phase: "exited", exitCode: 3, reason: "replica 0: container exited with code 3" });
    const lenient = combine("i", [down, member(1)], accepted, "any");
    expect(lenient).toMatchObject({ phase: "running", endpoint: "http://127.0.0.1:4001/mcp", replicas: { ready: 1 } });
    const both = member(1, { phase: "exited", endpoint: undefined, reason: "container exited with code 1" });
    expect(combine("i", [down, both], accepted, "any").phase).toBe("exited");
  });

  it("a missing copy is down; copies above the desired count are ignored", () => {
    expect(combine("i", [member(0)], accepted, "all")).toMatchObject({
      phase: "exited",
      reason: "replica 1: container is missing",
    });
    const o = combine("i", [member(0), member(1), member(2)], accepted, "all");
    expect(o.replicaEndpoints?.map((r) => r.replica)).toEqual([0, 1]);
  });

  it("a starting copy keeps the instance starting (all)", () => {
    expect(
      combine("i", [member(0), member(1, { phase: "starting", endpoint: undefined })], accepted, "all").phase,
    ).toBe("starting");
  });

  it("without an accepted deploy (another process, a restart) or with mixed templates: the oldest copy's spec hash", () => {
    const mixed = [member(0), member(1, { specHash: "newer", generation: 3 }, { [LABEL.template]: "t2" })];
    expect(combine("i", mixed, accepted, "all")).toMatchObject({ specHash: "old", generation: 1 });
    expect(combine("i", [member(0), member(1)], undefined, "all")).toMatchObject({ specHash: "old", phase: "running" });
  });

  it("one copy reports as one container did before replicas (reason and exit code as they are)", () => {
    const one: Accepted = { ...accepted, replicas: 1 };
    const o = combine(
      "i",
      [member(0, { phase: "exited", endpoint: undefined, exitCode: 3, reason: "OOM" })],
      one,
      "all",
    );
    expect(o).toMatchObject({ phase: "exited", reason: "OOM", exitCode: 3, replicas: { desired: 1, ready: 0 } });
  });
});

describe("replica naming and template", () => {
  it("copy 0 keeps the one-container name; other copies cannot collide with another instance's name", () => {
    expect(replicaName("fleet", "abc", 0)).toBe("fleet-abc");
    expect(replicaName("fleet", "abc", 1)).toMatch(/^fleet-abc-r1-[0-9a-f]{8}$/);
    expect(replicaName("fleet", "abc", 1)).not.toBe(replicaName("fleet", "abc-r1", 0));
    expect(replicaOf({ [LABEL.replica]: "2" })).toBe(2);
    expect(replicaOf({})).toBe(0);
  });

  it("the template ignores replicas and secret values, not the environment", () => {
    const req = (replicas: number, env: Record<string, string>, secret: string) => ({
      instance: { id: "i", name: "i", generation: 1, specHash: "h" },
      spec: { type: "docker", image: "img", replicas } as never,
      env,
      secrets: { env: { TOKEN: secret }, headers: {} },
    });
    expect(templateHash(req(2, {}, "a"))).toBe(templateHash(req(3, {}, "b")));
    expect(templateHash(req(2, {}, "a"))).not.toBe(templateHash(req(2, { A: "1" }, "a")));
  });
});
