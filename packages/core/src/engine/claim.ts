import type { Instance } from "../model/types.js";
import type { RuntimeBackend } from "../plugins/runtime.js";
import type { LeaseFence } from "../plugins/store.js";

/**
 * Who may act on an instance. Instances on process-local runtimes belong to the worker that deployed
 * them (`observed_by`); objects of a shared runtime (Podman on one host, Kubernetes) are visible to
 * every worker, so any worker may act. Today the claim is the `observed_by` field written together
 * with the move to `provisioning` (optimistic concurrency on the revision picks one winner), and a
 * stale claim is one whose unfinished work has not changed for `claimTtlMs` (wall clock on
 * `updated_at`): `updatedAtClaim`, for stores without leases. With a store's `leases`, the claim is
 * a fenced lease (lease-claim.ts): held while the worker owns the instance, renewed while it works,
 * its token carried by every write.
 */
export interface InstanceClaim {
  /** May this worker reconcile `inst` now? A cheap check on what is known locally. */
  mayAct(inst: Instance, runtime: RuntimeBackend | undefined, now: number): boolean;
  /** Before a pass acts: takes or keeps the claim; false when another worker holds it. */
  hold(inst: Instance, runtime: RuntimeBackend | undefined, signal?: AbortSignal): Promise<boolean>;
  /** Right before an effect outside the store (a deploy): is the claim still held? */
  confirm(id: string, signal?: AbortSignal): Promise<boolean>;
  /** The fence this worker's writes on `id` carry (the last token it held); undefined: unfenced. */
  fence(id: string): LeaseFence | undefined;
  /** A fenced write was refused, or renewal found the lease taken: stop acting on `id`. */
  lose(id: string): void;
  /** The instance is gone: forget its claim. */
  drop(id: string): void;
  /** Ids whose claim this worker lost and whose local objects it has not removed yet. */
  lost(): Set<string>;
  /** Refreshes what is known about others' claims (before a resync pass). */
  refresh(signal?: AbortSignal): Promise<void>;
  /** Starts renewing; `onLost` is told about every claim found taken over. */
  start(onLost: (id: string) => void): void;
  /** Stops renewing. */
  stop(): Promise<void>;
  /** Fields that claim the instance for this worker, written with the move to `provisioning`. */
  claimFields(): Pick<Instance, "observed_by">;
  /**
   * The owner to record once the runtime reports the instance running (on a shared runtime: whoever
   * holds it already; absent there means nobody recorded one yet and nothing is written for it).
   */
  ownerOf(inst: Instance, runtime: RuntimeBackend | undefined): Instance["observed_by"];
}

export function sharedRuntime(runtime: RuntimeBackend | undefined): boolean {
  return runtime?.capabilities?.shared === true;
}

/** Work not finished: another worker may take it over once its claim is stale. */
function unfinished(inst: Instance): boolean {
  return (
    inst.desired_state !== "running" ||
    inst.status === "pending" ||
    inst.status === "provisioning" ||
    inst.status === "starting"
  );
}

export function updatedAtClaim(workerId: string, claimTtlMs: number): InstanceClaim {
  const none = new Set<string>();
  const claim: InstanceClaim = {
    mayAct(inst, runtime, now) {
      if (!inst.observed_by || inst.observed_by === workerId) return true;
      if (sharedRuntime(runtime)) return true;
      return unfinished(inst) && now - Date.parse(inst.updated_at) > claimTtlMs;
    },
    hold: async (inst, runtime) => claim.mayAct(inst, runtime, Date.now()),
    confirm: async () => true,
    fence: () => undefined,
    lose() {},
    drop() {},
    lost: () => none,
    async refresh() {},
    start() {},
    async stop() {},
    claimFields: () => ({ observed_by: workerId }),
    ownerOf(inst, runtime) {
      return sharedRuntime(runtime) ? inst.observed_by : workerId;
    },
  };
  return claim;
}
