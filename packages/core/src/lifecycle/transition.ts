import { FleetError } from "../errors.js";
import type { InstanceStatus } from "../model/types.js";

/** What happened to an instance. */
export type LifecycleEvent =
  | "provision" // pending|stopped|failed -> provisioning
  | "provisioned" // provisioning -> starting
  | "ready" // starting|unhealthy -> running
  | "probe_failed" // running -> unhealthy
  | "stop" // provisioning|starting|running|unhealthy -> stopping; pending|failed -> stopped (nothing runs)
  | "stopped" // stopping -> stopped
  | "delete" // every state but deleting|deleted -> deleting
  | "deleted" // deleting -> deleted
  | "fail" // pending|provisioning|starting|running|unhealthy|stopping|deleting -> failed
  | "restart"; // provisioning|starting|running|unhealthy|failed -> provisioning (redeploy)

const T: Record<InstanceStatus, Partial<Record<LifecycleEvent, InstanceStatus>>> = {
  pending: { provision: "provisioning", stop: "stopped", delete: "deleting", fail: "failed" },
  provisioning: {
    provisioned: "starting",
    fail: "failed",
    stop: "stopping",
    delete: "deleting",
    restart: "provisioning",
  },
  starting: { ready: "running", fail: "failed", stop: "stopping", delete: "deleting", restart: "provisioning" },
  running: { probe_failed: "unhealthy", fail: "failed", stop: "stopping", delete: "deleting", restart: "provisioning" },
  unhealthy: { ready: "running", fail: "failed", stop: "stopping", delete: "deleting", restart: "provisioning" },
  stopping: { stopped: "stopped", delete: "deleting", fail: "failed" },
  stopped: { provision: "provisioning", delete: "deleting" },
  failed: { restart: "provisioning", provision: "provisioning", stop: "stopped", delete: "deleting" },
  deleting: { deleted: "deleted", fail: "failed" },
  deleted: {},
};

/** The full table, for documentation and tests. */
export const LIFECYCLE_TABLE: Readonly<
  Record<InstanceStatus, Readonly<Partial<Record<LifecycleEvent, InstanceStatus>>>>
> = T;

/** Every status, in lifecycle order (a tuple, so `z.enum(INSTANCE_STATUSES)` works). */
export const INSTANCE_STATUSES = [
  "pending",
  "provisioning",
  "starting",
  "running",
  "unhealthy",
  "stopping",
  "stopped",
  "failed",
  "deleting",
  "deleted",
] as const satisfies readonly InstanceStatus[];
// every status is listed: a missing one fails to compile here
type Unlisted = Exclude<InstanceStatus, (typeof INSTANCE_STATUSES)[number]>;
const everyStatusListed: [Unlisted] extends [never] ? true : never = true;
void everyStatusListed;

/** Own-property lookup, so `constructor`/`__proto__` never resolve through the prototype. */
function lookup(state: InstanceStatus, event: LifecycleEvent): InstanceStatus | undefined {
  if (!Object.hasOwn(T, state)) return undefined;
  const row = T[state];
  return Object.hasOwn(row, event) ? row[event] : undefined;
}

/** Pure: the next state, or `INVALID_TRANSITION`. */
export function transition(state: InstanceStatus, event: LifecycleEvent): InstanceStatus {
  const next = lookup(state, event);
  if (!next) {
    throw new FleetError("INVALID_TRANSITION", `cannot ${String(event)} an instance that is ${String(state)}`, {
      path: "status",
      details: { from: state, event },
      isRetryable: false,
    });
  }
  return next;
}

export function canTransition(state: InstanceStatus, event: LifecycleEvent): boolean {
  return lookup(state, event) !== undefined;
}
