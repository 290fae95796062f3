import { describe, expect, it } from "vitest";
import { INSTANCE_STATUSES } from "../lifecycle/transition.js";
import type { DesiredState, Instance, InstanceStatus } from "../model/types.js";
import type { ObservedPhase } from "../plugins/runtime.js";
import {
  needsInspect,
  type ObservationKind,
  observationKind,
  type PlanObservation,
  plan,
  type RuntimeObservation,
  type Step,
  settleStoppedEvents,
} from "./reconcile-plan.js";

const NOW = Date.parse("2026-01-01T00:00:00.000Z");
const SETTINGS = { startTimeoutMs: 1000 };
const ENDPOINT = "http://127.0.0.1:9000/mcp";

function instance(status: InstanceStatus, desired: DesiredState, extra: Partial<Instance> = {}): Instance {
  return {
    id: "i1",
    name: "one",
    json_spec: { type: "docker" },
    status,
    desired_state: desired,
    generation: 2,
    observed_generation: 2,
    spec_hash: "h2",
    endpoint: ENDPOINT,
    observed_by: "w1",
    restart_count: 0,
    created_at: new Date(NOW - 60_000).toISOString(),
    updated_at: new Date(NOW).toISOString(),
    revision: 5,
    ...extra,
  };
}

const PHASES: ObservedPhase[] = ["pending", "starting", "running", "exited", "failed", "unknown"];
const KINDS: ObservationKind[] = [
  "no-runtime",
  "not-inspected",
  "absent",
  "other-spec",
  ...PHASES.map((p) => `same-spec-${p}` as const),
];

function runtimeView(kind: ObservationKind): RuntimeObservation {
  if (kind === "no-runtime" || kind === "not-inspected" || kind === "absent") return { kind };
  const phase = kind === "other-spec" ? "running" : (kind.slice("same-spec-".length) as ObservedPhase);
  return {
    kind: "present",
    instance: {
      instanceId: "i1",
      specHash: kind === "other-spec" ? "h1" : "h2",
      phase,
      endpoint: ENDPOINT,
      ...(phase === "exited" ? { exitCode: 1 } : {}),
    },
  };
}

const obs = (kind: ObservationKind, extra: Partial<PlanObservation> = {}): PlanObservation => ({
  runtime: runtimeView(kind),
  retryPending: false,
  owner: "w1",
  ...extra,
});

/** Step kinds joined by "+" ("" for nothing to do). */
const summary = (steps: Step[]) => steps.map((s) => s.kind).join("+");

// Columns, in KINDS order: no-runtime, not-inspected, absent, other-spec,
// same-spec-pending, same-spec-starting, same-spec-running, same-spec-exited, same-spec-failed, same-spec-unknown.
// Instance: generation observed, endpoint and owner as the runtime reports them, changed just now.
const RUNNING: Record<InstanceStatus, string[]> = {
  pending: ["fail", "", "deploy", "deploy", "deploy", "deploy", "deploy", "crash", "crash", "deploy"],
  provisioning: [
    "fail",
    "",
    "deploy",
    "deploy",
    "mark-provisioned",
    "mark-provisioned",
    "mark-provisioned+probe",
    "crash",
    "crash",
    "mark-provisioned",
  ],
  starting: ["fail", "", "deploy", "deploy", "", "", "probe", "crash", "crash", ""],
  running: ["fail", "", "deploy", "deploy", "", "", "probe", "crash", "crash", ""],
  unhealthy: ["fail", "", "deploy", "deploy", "", "", "probe", "crash", "crash", ""],
  stopping: ["fail", "", "deploy", "deploy", "", "", "probe", "crash", "crash", ""],
  stopped: ["fail", "", "deploy", "deploy", "deploy", "deploy", "deploy", "crash", "crash", "deploy"],
  // failed in the generation it is at: terminal until start or update bumps the generation
  failed: ["", "", "", "", "", "", "", "", "", ""],
  deleting: ["fail", "", "deploy", "deploy", "", "", "probe", "crash", "crash", ""],
  deleted: ["fail", "", "deploy", "deploy", "", "", "probe", "crash", "crash", ""],
};

const present = "mark-stopping+remove+settle-stopped";
const STOPPED: Record<InstanceStatus, string[]> = Object.fromEntries(
  INSTANCE_STATUSES.map((s) => {
    const onRuntime = s === "stopping" ? "remove+settle-stopped" : present;
    const noRuntime = s === "failed" ? "" : "fail";
    return [s, [noRuntime, "settle-stopped", "settle-stopped", ...Array(7).fill(onRuntime)]];
  }),
) as Record<InstanceStatus, string[]>;

const rows = (desired: DesiredState, table: Record<InstanceStatus, string[]>) =>
  INSTANCE_STATUSES.flatMap((s) => KINDS.map((k, i) => [desired, s, k, table[s][i]!] as const));

describe("reconcile plan: every instance state x observation kind", () => {
  it("the tables have a row per state and a column per observation kind", () => {
    for (const table of [RUNNING, STOPPED]) {
      expect(Object.keys(table).sort()).toEqual([...INSTANCE_STATUSES].sort());
      for (const s of INSTANCE_STATUSES) expect(table[s]).toHaveLength(KINDS.length);
    }
  });

  it.each([...rows("running", RUNNING), ...rows("stopped", STOPPED)])(
    "desired %s, status %s, runtime %s -> [%s]",
    (desired, status, kind, expected) => {
      const inst = instance(status, desired);
      expect(observationKind(inst, runtimeView(kind))).toBe(kind);
      expect(summary(plan(inst, obs(kind), NOW, SETTINGS))).toBe(expected);
    },
  );

  it.each(INSTANCE_STATUSES.flatMap((s) => KINDS.map((k) => [s, k] as const)))(
    "desired deleted, status %s, runtime %s -> [finish-delete]",
    (status, kind) => {
      expect(plan(instance(status, "deleted"), obs(kind), NOW, SETTINGS)).toEqual([{ kind: "finish-delete" }]);
    },
  );

  it("a missing document removes whatever any runtime holds", () => {
    expect(plan(undefined, obs("not-inspected"), NOW, SETTINGS)).toEqual([{ kind: "remove-everywhere" }]);
  });
});

describe("reconcile plan: details", () => {
  it("failed in an older generation (start or update bumped it) is redeployed, or fails again without a runtime", () => {
    const inst = instance("failed", "running", { observed_generation: 1 });
    expect(summary(plan(inst, obs("absent"), NOW, SETTINGS))).toBe("deploy");
    expect(summary(plan(inst, obs("same-spec-running"), NOW, SETTINGS))).toBe("deploy");
    expect(plan(inst, obs("no-runtime"), NOW, SETTINGS)).toEqual([
      { kind: "fail", reason: 'no runtime configured for spec type "docker"', code: "RUNTIME_UNAVAILABLE" },
    ]);
  });

  it("a pending restart (backing off) leaves every state alone", () => {
    for (const s of INSTANCE_STATUSES) {
      for (const k of KINDS.filter((k) => k !== "no-runtime")) {
        expect(plan(instance(s, "running"), obs(k, { retryPending: true }), NOW, SETTINGS)).toEqual([]);
      }
    }
  });

  it("start timeout: provisioning/starting not running after startTimeoutMs is a crash; running is left alone", () => {
    const old = { updated_at: new Date(NOW - SETTINGS.startTimeoutMs - 1).toISOString() };
    const justInTime = { updated_at: new Date(NOW - SETTINGS.startTimeoutMs).toISOString() };
    for (const phase of ["pending", "starting", "unknown"] as const) {
      const kind = `same-spec-${phase}` as const;
      const starting = plan(instance("starting", "running", old), obs(kind), NOW, SETTINGS);
      expect(starting).toEqual([
        {
          kind: "crash",
          observed: expect.objectContaining({
            phase: "exited",
            reason: `not running after 1000 ms (runtime reports ${phase})`,
          }),
        },
      ]);
      expect(summary(plan(instance("provisioning", "running", old), obs(kind), NOW, SETTINGS))).toBe(
        "mark-provisioned+crash",
      );
      expect(plan(instance("starting", "running", justInTime), obs(kind), NOW, SETTINGS)).toEqual([]);
      expect(plan(instance("running", "running", old), obs(kind), NOW, SETTINGS)).toEqual([]);
      expect(plan(instance("unhealthy", "running", old), obs(kind), NOW, SETTINGS)).toEqual([]);
    }
  });

  it("a crash carries what the runtime reported", () => {
    const steps = plan(instance("running", "running"), obs("same-spec-exited"), NOW, SETTINGS);
    expect(steps).toEqual([{ kind: "crash", observed: expect.objectContaining({ phase: "exited", exitCode: 1 }) }]);
  });

  it("running: records generation, endpoint and owner when any differs, then probes", () => {
    const run = (extra: Partial<Instance>, o: Partial<PlanObservation> = {}) =>
      plan(instance("running", "running", extra), obs("same-spec-running", o), NOW, SETTINGS);
    const record = { kind: "record-observed", endpoint: ENDPOINT, owner: "w1" };
    expect(run({ observed_generation: 1 })[0]).toEqual(record);
    expect(run({ endpoint: null })[0]).toEqual(record);
    expect(run({ observed_by: "w0" })[0]).toEqual(record);
    expect(run({}, { owner: "w2" })[0]).toEqual({ ...record, owner: "w2" });
    expect(summary(run({ observed_by: "w0" }))).toBe("record-observed+probe");
    expect(summary(run({}))).toBe("probe");
  });

  it("needsInspect: never for delete or without a runtime; for running not when failed for good or backing off", () => {
    expect(needsInspect(instance("running", "deleted"), true, false)).toBe(false);
    expect(needsInspect(instance("running", "running"), false, false)).toBe(false);
    expect(needsInspect(instance("failed", "stopped"), true, true)).toBe(true);
    expect(needsInspect(instance("failed", "running"), true, false)).toBe(false);
    expect(needsInspect(instance("failed", "running", { observed_generation: 1 }), true, false)).toBe(true);
    expect(needsInspect(instance("running", "running"), true, true)).toBe(false);
    expect(needsInspect(instance("running", "running"), true, false)).toBe(true);
  });

  it("settleStoppedEvents takes every non-terminal state to stopped", () => {
    expect(settleStoppedEvents("stopped")).toBeUndefined();
    expect(settleStoppedEvents("stopping")).toEqual(["stopped"]);
    expect(settleStoppedEvents("pending")).toEqual(["stop"]);
    expect(settleStoppedEvents("failed")).toEqual(["stop"]);
    expect(settleStoppedEvents("running")).toEqual(["stop", "stopped"]);
  });
});
