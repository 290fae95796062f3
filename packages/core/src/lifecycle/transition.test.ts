import { describe, expect, it } from "vitest";
import { FleetError } from "../errors.js";
import type { InstanceStatus } from "../model/types.js";
import { canTransition, INSTANCE_STATUSES, LIFECYCLE_TABLE, type LifecycleEvent, transition } from "./transition.js";

const EVENTS: LifecycleEvent[] = [
  "provision",
  "provisioned",
  "ready",
  "probe_failed",
  "stop",
  "stopped",
  "delete",
  "deleted",
  "fail",
  "restart",
];

const LEGAL: [InstanceStatus, LifecycleEvent, InstanceStatus][] = [
  ["pending", "provision", "provisioning"],
  ["pending", "stop", "stopped"],
  ["pending", "delete", "deleting"],
  ["pending", "fail", "failed"],
  ["provisioning", "provisioned", "starting"],
  ["provisioning", "fail", "failed"],
  ["provisioning", "stop", "stopping"],
  ["provisioning", "delete", "deleting"],
  ["provisioning", "restart", "provisioning"],
  ["starting", "ready", "running"],
  ["starting", "fail", "failed"],
  ["starting", "stop", "stopping"],
  ["starting", "delete", "deleting"],
  ["starting", "restart", "provisioning"],
  ["running", "probe_failed", "unhealthy"],
  ["running", "fail", "failed"],
  ["running", "stop", "stopping"],
  ["running", "delete", "deleting"],
  ["running", "restart", "provisioning"],
  ["unhealthy", "ready", "running"],
  ["unhealthy", "fail", "failed"],
  ["unhealthy", "stop", "stopping"],
  ["unhealthy", "delete", "deleting"],
  ["unhealthy", "restart", "provisioning"],
  ["stopping", "stopped", "stopped"],
  ["stopping", "delete", "deleting"],
  ["stopping", "fail", "failed"],
  ["stopped", "provision", "provisioning"],
  ["stopped", "delete", "deleting"],
  ["failed", "restart", "provisioning"],
  ["failed", "provision", "provisioning"],
  ["failed", "stop", "stopped"],
  ["failed", "delete", "deleting"],
  ["deleting", "deleted", "deleted"],
  ["deleting", "fail", "failed"],
];

describe("lifecycle transition table", () => {
  it.each(LEGAL)("%s --%s--> %s", (from, event, to) => {
    expect(transition(from, event)).toBe(to);
    expect(canTransition(from, event)).toBe(true);
  });

  it("the table holds exactly the legal moves listed here", () => {
    const fromTable = INSTANCE_STATUSES.flatMap((s) =>
      Object.entries(LIFECYCLE_TABLE[s]).map(([e, t]) => `${s}:${e}:${t}`),
    ).sort();
    expect(fromTable).toEqual(LEGAL.map(([a, b, c]) => `${a}:${b}:${c}`).sort());
    expect(INSTANCE_STATUSES).toHaveLength(10);
  });

  const legal = new Set(LEGAL.map(([a, b]) => `${a}:${b}`));
  const illegal = INSTANCE_STATUSES.flatMap((s) =>
    EVENTS.filter((e) => !legal.has(`${s}:${e}`)).map((e) => [s, e] as const),
  );

  it.each(illegal)("%s --%s--> INVALID_TRANSITION", (from, event) => {
    expect(canTransition(from, event)).toBe(false);
    let err: unknown;
    try {
      transition(from, event);
    } catch (e) {
      err = e;
    }
    expect(FleetError.isInstance(err)).toBe(true);
    expect((err as FleetError).code).toBe("INVALID_TRANSITION");
    expect((err as FleetError).details).toEqual({ from, event });
  });

  it("deleted is terminal and unknown input never throws a TypeError", () => {
    for (const e of EVENTS) expect(canTransition("deleted", e)).toBe(false);
    expect(() => transition("bogus" as InstanceStatus, "ready")).toThrowError(
      expect.objectContaining({ code: "INVALID_TRANSITION" }),
    );
    expect(() => transition("running", "__proto__" as LifecycleEvent)).toThrowError(
      expect.objectContaining({ code: "INVALID_TRANSITION" }),
    );
    expect(() => transition("running", "constructor" as LifecycleEvent)).toThrowError(
      expect.objectContaining({ code: "INVALID_TRANSITION" }),
    );
  });
});
