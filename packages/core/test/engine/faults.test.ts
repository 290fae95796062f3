import { afterEach, describe, expect, it } from "vitest";
import { memoryRuntime } from "../../src/index.js";
import { dockerSpec, eventually, type Harness, harness, statuses } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.fleet.close();
  h = undefined;
});

describe("fault injection through the memory runtime", () => {
  it("deploy fails N times then succeeds: retries with backoff, ends running", async () => {
    h = await harness();
    h.runtime.faults.failDeploy(2);
    const inst = await h.fleet.instances.create({ name: "flaky", json_spec: dockerSpec() });
    const running = await h.fleet.instances.waitFor(inst.id, "running", { timeoutMs: 5000 });
    expect(running.restart_count).toBe(2);
    expect(h.runtime.deployCount(inst.id)).toBe(1);
    expect(h.logs.filter((l) => l.msg === "deploy failed, retrying")).toHaveLength(2);
  });

  it("deploy fails forever: failed after maxRestarts with the reason", async () => {
    h = await harness();
    h.runtime.faults.failDeploy(Number.POSITIVE_INFINITY, { message: "engine on fire" });
    const inst = await h.fleet.instances.create({ name: "doomed", json_spec: dockerSpec() });
    const err = await h.fleet.instances.waitFor(inst.id, "running", { timeoutMs: 5000 }).catch((e) => e);
    expect(err.code).toBe("DEPLOY_FAILED");
    const failed = await h.fleet.instances.get(inst.id);
    expect(failed.status).toBe("failed");
    expect(failed.status_reason).toMatch(/gave up after 4 attempts: DEPLOY_FAILED: engine on fire/);
    expect(h.runtime.deployCount(inst.id)).toBe(0);
    expect(statuses(h.events, inst.id).at(-1)).toBe("failed");
  });

  it("a permanent deploy error fails at once, without retries", async () => {
    h = await harness();
    h.runtime.faults.failDeploy(1, { permanent: true, message: "image nope:1 does not exist" });
    const inst = await h.fleet.instances.create({ name: "noimage", json_spec: dockerSpec() });
    await h.fleet.instances.waitFor(inst.id, "failed", { timeoutMs: 3000 });
    const failed = await h.fleet.instances.get(inst.id);
    expect(failed.status_reason).toMatch(/image nope:1 does not exist/);
    expect(failed.restart_count).toBe(1);
  });

  it("start after failed retries the new generation", async () => {
    h = await harness();
    h.runtime.faults.failDeploy(1, { permanent: true });
    const inst = await h.fleet.instances.create({ name: "again", json_spec: dockerSpec() });
    await h.fleet.instances.waitFor(inst.id, "failed");
    await h.fleet.instances.start(inst.id);
    const running = await h.fleet.instances.waitFor(inst.id, "running");
    expect(running.generation).toBe(2);
  });

  it("crash loop with restart_policy always: restarts with backoff, then failed", async () => {
    h = await harness();
    const inst = await h.fleet.instances.create({
      name: "crashy",
      json_spec: dockerSpec({ restart_policy: "always" }),
    });
    await h.fleet.instances.waitFor(inst.id, "running");
    for (let i = 1; i <= 4; i++) {
      await eventually(async () => (await h!.runtime.inspect(inst.id))?.phase === "running", 5000, `deploy ${i}`);
      h.runtime.crash(inst.id, 137, "OOMKilled");
      if (i <= 3) await eventually(() => h!.runtime.deployCount(inst.id) === i + 1, 5000, `restart ${i}`);
    }
    const failed = await h.fleet.instances.waitFor(inst.id, "failed", { timeoutMs: 5000 });
    expect(failed.status_reason).toMatch(/crash loop: 4 failures in a row \(3 restarts\); last: OOMKilled/);
    expect(h.runtime.deployCount(inst.id)).toBe(4);
  });

  it("restart_policy no: an exit fails the instance without restart", async () => {
    h = await harness();
    const inst = await h.fleet.instances.create({ name: "once", json_spec: dockerSpec({ restart_policy: "no" }) });
    await h.fleet.instances.waitFor(inst.id, "running");
    h.runtime.crash(inst.id, 2);
    const failed = await h.fleet.instances.waitFor(inst.id, "failed");
    expect(failed.status_reason).toMatch(/exited with code 2.*restart policy "no"/);
    expect(h.runtime.deployCount(inst.id)).toBe(1);
  });

  it("inspect lies about the spec hash: the reconciler redeploys to converge", async () => {
    h = await harness();
    const inst = await h.fleet.instances.create({ name: "liar", json_spec: dockerSpec() });
    await h.fleet.instances.waitFor(inst.id, "running");
    h.runtime.faults.lieInspect(inst.id, { specHash: "stale", phase: "running" });
    await h.fleet.resync();
    h.runtime.faults.clearLies();
    await h.fleet.instances.waitFor(inst.id, "running");
    expect(h.runtime.deployCount(inst.id)).toBe(1); // same hash: the runtime's own idempotence kept one object
    expect(statuses(h.events, inst.id)).toContain("provisioning");
  });

  it("inspect says nothing is there: redeployed on resync", async () => {
    h = await harness();
    const inst = await h.fleet.instances.create({ name: "vanished", json_spec: dockerSpec() });
    await h.fleet.instances.waitFor(inst.id, "running");
    await h.runtime.remove(inst.id);
    await h.fleet.resync();
    await h.fleet.instances.waitFor(inst.id, "running");
    expect(h.runtime.deployCount(inst.id)).toBe(2);
  });

  it("slow deploy is cancelled through AbortSignal on close, within the bound", async () => {
    h = await harness({ closeTimeoutMs: 200 });
    h.runtime.faults.slowDeploy(60_000);
    const inst = await h.fleet.instances.create({ name: "slow", json_spec: dockerSpec() });
    await eventually(async () => (await h!.fleet.instances.get(inst.id)).status === "provisioning");
    await h.fleet.close(); // would hang for the 60 s deploy (past the test timeout) without the abort
    expect(h.runtime.deployCount(inst.id)).toBe(0);
    h = undefined;
  });

  it("an instance the runtime reports but never starts is restarted after startTimeoutMs", async () => {
    h = await harness({ runtime: memoryRuntime({ startDelayMs: 300 }), reconciler: { startTimeoutMs: 50 } });
    const inst = await h.fleet.instances.create({ name: "stuck", json_spec: dockerSpec() });
    await h.fleet.instances.waitFor(inst.id, "starting");
    await new Promise((r) => setTimeout(r, 80));
    await h.fleet.resync(); // still starting after 50 ms: removed and redeployed
    await eventually(() => h!.runtime.deployCount(inst.id) === 2, 5000, "redeploy");
    const after = await h.fleet.instances.waitFor(inst.id, "running");
    expect(after.restart_count).toBe(1);
    expect(after.status_reason ?? "").toBe("");
  });

  it("a running instance whose runtime briefly reports starting is left alone", async () => {
    h = await harness({ reconciler: { startTimeoutMs: 50 } });
    const inst = await h.fleet.instances.create({ name: "resched", json_spec: dockerSpec() });
    await h.fleet.instances.waitFor(inst.id, "running");
    await new Promise((r) => setTimeout(r, 80));
    h.runtime.faults.lieInspect(inst.id, { phase: "starting" });
    await h.fleet.resync();
    h.runtime.faults.clearLies();
    expect(h.runtime.deployCount(inst.id)).toBe(1);
    expect((await h.fleet.instances.get(inst.id)).status).toBe("running");
  });
});
