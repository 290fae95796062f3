import { describe, expect, it } from "vitest";
import type { Instance } from "../model/types.js";
import { updatedAtClaim } from "./claim.js";
import {
  afterCrash,
  afterDeployFailure,
  restartDelay,
  restartPolicyOf,
  restartsWhenUnhealthy,
} from "./restart-policy.js";

const inst = (policy: unknown, restart_count = 0, extra: Partial<Instance> = {}): Instance => ({
  id: "i1",
  name: "one",
  json_spec: policy === undefined ? { type: "docker" } : { type: "docker", restart_policy: policy },
  status: "running",
  desired_state: "running",
  generation: 1,
  observed_generation: 1,
  spec_hash: "h",
  restart_count,
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:00.000Z",
  revision: 1,
  ...extra,
});
const settings = { maxRestarts: 3, backoffBaseMs: 100, backoffMaxMs: 1000 };

describe("restart policy", () => {
  it.each([
    ["always", 0, "restart"],
    ["always", 1, "restart"],
    ["unless-stopped", 0, "restart"],
    ["on-failure", 1, "restart"],
    ["on-failure", undefined, "restart"],
    ["on-failure", 0, "fail"],
    [undefined, 0, "fail"],
    ["bogus", 2, "restart"],
    ["no", 1, "fail"],
    ["no", undefined, "fail"],
  ] as const)("policy %s, exit code %s -> %s", (policy, exitCode, kind) => {
    const d = afterCrash(inst(policy), exitCode === undefined ? {} : { exitCode }, settings);
    expect(d.kind).toBe(kind);
    if (d.kind === "fail") expect(d.reason).toMatch(/restart policy/);
  });

  it("unknown or missing policy is on-failure; unhealthy restarts unless no", () => {
    expect(restartPolicyOf(inst(undefined))).toBe("on-failure");
    expect(restartPolicyOf(inst(42))).toBe("on-failure");
    expect(restartsWhenUnhealthy(inst("no"))).toBe(false);
    expect(restartsWhenUnhealthy(inst("always"))).toBe(true);
  });

  it("a permanent failure fails whatever the policy; past maxRestarts is a crash loop", () => {
    expect(afterCrash(inst("always"), { permanent: true, reason: "image missing" }, settings)).toEqual({
      kind: "fail",
      reason: "image missing",
    });
    expect(afterCrash(inst("always", 2), { exitCode: 1 }, settings)).toEqual({
      kind: "restart",
      attempt: 3,
      reason: "exited with code 1",
    });
    expect(afterCrash(inst("always", 3), { reason: "OOMKilled" }, settings)).toEqual({
      kind: "fail",
      reason: "crash loop: 4 failures in a row (3 restarts); last: OOMKilled",
      restartCount: 4,
    });
  });

  it("deploy failures: non-retryable fails at once, retryable retries up to maxRestarts", () => {
    const err = (isRetryable: boolean) => ({ code: "DEPLOY_FAILED", message: "boom", isRetryable });
    expect(afterDeployFailure(inst(undefined), err(false), settings)).toEqual({
      kind: "fail",
      reason: "DEPLOY_FAILED: boom",
      restartCount: 1,
    });
    expect(afterDeployFailure(inst(undefined, 1), err(true), settings)).toEqual({
      kind: "retry",
      attempt: 2,
      reason: "DEPLOY_FAILED: boom",
    });
    expect(afterDeployFailure(inst(undefined, 3), err(true), settings)).toEqual({
      kind: "fail",
      reason: "gave up after 4 attempts: DEPLOY_FAILED: boom",
      restartCount: 4,
    });
  });

  it("restart delay doubles from the base, is capped, and is jittered down by at most half", () => {
    expect([1, 2, 3, 4, 5, 9].map((a) => restartDelay(a, settings, () => 0))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(restartDelay(3, settings, () => 0.999_999)).toBe(200);
    for (let i = 0; i < 200; i++) {
      const d = restartDelay(2, settings);
      expect(d).toBeGreaterThanOrEqual(100);
      expect(d).toBeLessThanOrEqual(200);
    }
  });
});

describe("updated_at claim", () => {
  const claim = updatedAtClaim("w1", 1000);
  const at = Date.parse("2026-01-01T00:00:00.000Z");
  const local = { capabilities: { shared: false } } as never;
  const shared = { capabilities: { shared: true } } as never;

  it("own, unowned and shared-runtime instances are always acted on", () => {
    expect(claim.mayAct(inst(undefined, 0, { observed_by: "w1" }), local, at)).toBe(true);
    expect(claim.mayAct(inst(undefined, 0, { observed_by: null }), local, at)).toBe(true);
    expect(claim.mayAct(inst(undefined, 0, { observed_by: "w2" }), shared, at)).toBe(true);
  });

  it("another worker's instance: only unfinished work, only once the claim is older than the TTL", () => {
    const theirs = (extra: Partial<Instance>) => inst(undefined, 0, { observed_by: "w2", ...extra });
    expect(claim.mayAct(theirs({ status: "running" }), local, at + 5000)).toBe(false);
    expect(claim.mayAct(theirs({ status: "starting" }), local, at + 1000)).toBe(false);
    expect(claim.mayAct(theirs({ status: "starting" }), local, at + 1001)).toBe(true);
    expect(claim.mayAct(theirs({ status: "running", desired_state: "stopped" }), local, at + 1001)).toBe(true);
  });

  it("claims with this worker's id; the owner recorded on a shared runtime stays whoever holds it", () => {
    expect(claim.claimFields()).toEqual({ observed_by: "w1" });
    expect(claim.ownerOf(inst(undefined, 0, { observed_by: "w2" }), local)).toBe("w1");
    expect(claim.ownerOf(inst(undefined, 0, { observed_by: "w2" }), shared)).toBe("w2");
  });
});
