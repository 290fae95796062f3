import type { LifecycleEvent } from "../lifecycle/transition.js";
import type { Instance, InstanceStatus } from "../model/types.js";
import type { ObservedInstance, ObservedPhase } from "../plugins/runtime.js";
import { specTypeOf } from "./spec-type.js";

/** What the runtime reported for an instance (the reconciler inspects only when `needsInspect`). */
export type RuntimeObservation =
  | { kind: "no-runtime" }
  | { kind: "not-inspected" }
  | { kind: "absent" }
  | { kind: "present"; instance: ObservedInstance };

export interface PlanObservation {
  runtime: RuntimeObservation;
  /** A restart or retry is scheduled (backing off): nothing happens until it fires. */
  retryPending: boolean;
  /** Who should be recorded as owner once it runs (`InstanceClaim.ownerOf`). */
  owner: Instance["observed_by"];
}

export interface PlanSettings {
  startTimeoutMs: number;
}

/** One effect; the reconciler executes a plan's steps in order. */
export type Step =
  | { kind: "remove-everywhere" }
  | { kind: "finish-delete" }
  | { kind: "fail"; reason: string; code: string }
  | { kind: "mark-stopping"; events: LifecycleEvent[] }
  | { kind: "remove" }
  | { kind: "settle-stopped" }
  | { kind: "deploy" }
  | { kind: "crash"; observed: ObservedInstance }
  | { kind: "mark-provisioned" }
  | { kind: "record-observed"; endpoint: string | null; owner: Instance["observed_by"] }
  /** Keep probing it (health monitor) and note how long it has been running (crash counter reset). */
  | { kind: "probe"; observed: ObservedInstance };

/** How the plan classifies an observation (the columns of its table). */
export type ObservationKind = "no-runtime" | "not-inspected" | "absent" | "other-spec" | `same-spec-${ObservedPhase}`;

export function observationKind(inst: Instance, runtime: RuntimeObservation): ObservationKind {
  if (runtime.kind !== "present") return runtime.kind;
  if (runtime.instance.specHash !== inst.spec_hash) return "other-spec";
  return `same-spec-${runtime.instance.phase}`;
}

/** `failed` is terminal for the generation it failed in (start or update bumps the generation). */
function failedForGood(inst: Instance): boolean {
  return inst.status === "failed" && inst.observed_generation === inst.generation;
}

/** Pure: whether `plan` needs the runtime's view of this instance (saves a runtime call per pass). */
export function needsInspect(inst: Instance, hasRuntime: boolean, retryPending: boolean): boolean {
  if (inst.desired_state === "deleted" || !hasRuntime) return false;
  if (inst.desired_state === "stopped") return true;
  return !failedForGood(inst) && !retryPending;
}

/** The transitions that take a re-read `status` to `stopped` (`undefined`: already there). */
export function settleStoppedEvents(status: InstanceStatus): LifecycleEvent[] | undefined {
  if (status === "stopped") return undefined;
  if (status === "stopping") return ["stopped"];
  if (status === "pending" || status === "failed") return ["stop"];
  return ["stop", "stopped"];
}

const UNDEPLOYED = new Set<InstanceStatus>(["pending", "stopped", "failed"]);

/**
 * Pure: what to do for one instance, given what the runtime reports, the time and the settings.
 * `instance` undefined means the document is gone: remove whatever any runtime still holds.
 * Start timeout (the one rule, shared with the health monitor's readiness wait): an instance still
 * `provisioning`/`starting` whose runtime has not reported it running `startTimeoutMs` after its last
 * change is treated as a crash, so the restart policy decides (restart with backoff, counting toward
 * `maxRestarts`; policy `no` fails it).
 */
export function plan(
  instance: Instance | undefined,
  observed: PlanObservation,
  now: number,
  settings: PlanSettings,
): Step[] {
  if (!instance) return [{ kind: "remove-everywhere" }];
  const inst = instance;
  if (inst.desired_state === "deleted") return [{ kind: "finish-delete" }];
  const { runtime } = observed;
  if (runtime.kind === "no-runtime") {
    if (failedForGood(inst)) return [];
    const reason = `no runtime configured for spec type "${specTypeOf(inst.json_spec)}"`;
    return [{ kind: "fail", reason, code: "RUNTIME_UNAVAILABLE" }];
  }
  if (inst.desired_state === "stopped") return planStopped(inst, runtime);
  return planRunning(inst, observed, now, settings);
}

function planStopped(inst: Instance, runtime: RuntimeObservation): Step[] {
  if (runtime.kind !== "present") return [{ kind: "settle-stopped" }];
  const steps: Step[] = [];
  if (inst.status !== "stopping") steps.push({ kind: "mark-stopping", events: ["stop"] });
  steps.push({ kind: "remove" }, { kind: "settle-stopped" });
  return steps;
}

function planRunning(inst: Instance, observed: PlanObservation, now: number, settings: PlanSettings): Step[] {
  if (failedForGood(inst) || observed.retryPending) return [];
  const { runtime } = observed;
  if (runtime.kind === "not-inspected") return [];
  if (runtime.kind !== "present") return [{ kind: "deploy" }];
  const o = runtime.instance;
  const sameSpec = o.specHash === inst.spec_hash;
  if (sameSpec && (o.phase === "exited" || o.phase === "failed")) return [{ kind: "crash", observed: o }];
  if (!sameSpec || UNDEPLOYED.has(inst.status)) return [{ kind: "deploy" }];

  // the runtime has our spec: bring the stored status in line with it
  const steps: Step[] = inst.status === "provisioning" ? [{ kind: "mark-provisioned" }] : [];
  if (o.phase !== "running") {
    // created but never started (a worker died between create and start), or stuck starting;
    // a running instance whose runtime briefly reports starting (a rescheduled pod) is left alone
    const unfinished = inst.status === "starting" || inst.status === "provisioning";
    if (unfinished && now - Date.parse(inst.updated_at) > settings.startTimeoutMs) {
      const reason = `not running after ${settings.startTimeoutMs} ms (runtime reports ${o.phase})`;
      steps.push({ kind: "crash", observed: { ...o, phase: "exited", reason } });
    }
    return steps;
  }
  const endpoint = o.endpoint ?? null;
  if (
    inst.observed_generation !== inst.generation ||
    inst.endpoint !== endpoint ||
    inst.observed_by !== observed.owner
  ) {
    steps.push({ kind: "record-observed", endpoint, owner: observed.owner });
  }
  steps.push({ kind: "probe", observed: o });
  return steps;
}
