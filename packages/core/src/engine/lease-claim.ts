import { toFleetError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { LeaseFence, LeaseState, LeaseStore } from "../plugins/store.js";
import { type InstanceClaim, sharedRuntime } from "./claim.js";

export interface LeaseClaimOptions {
  workerId: string;
  leases: LeaseStore;
  /** How long a lease lasts without renewal (the store's clock judges it). */
  ttlMs: number;
  logger: Logger;
}

/**
 * Instance claims as fenced leases. A worker takes the lease of an instance before it acts on it
 * (process-local runtimes; a shared runtime's objects are seen by every worker, so any worker may
 * act there, unfenced, as before), renews every lease it holds every `ttlMs / 3` (while work is in
 * flight too) and carries the lease's token on every write. When the lease is taken over (the
 * worker was paused or cut off past `ttlMs`), the store refuses its writes (`FENCED`), renewal
 * reports the loss and the reconciler removes what the worker still runs for that instance.
 * The last token stays the write fence after a loss, so a late write can never go out unfenced.
 * Stopping does not release leases (the runtime's objects may outlive the engine briefly): they
 * expire after `ttlMs` and another worker takes over.
 */
export function leaseClaim(o: LeaseClaimOptions): InstanceClaim {
  const { workerId, leases, ttlMs, logger } = o;
  /** Last token held per instance (kept after a loss: it stays the fence). */
  const tokens = new Map<string, number>();
  /** Instances whose lease this worker believes it holds. */
  const held = new Set<string>();
  const lostIds = new Set<string>();
  /** Others' live leases as of the last refresh (a hint that saves a store call; `hold` decides). */
  let others = new Map<string, LeaseState>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let onLost: (id: string) => void = () => {};
  let renewing: Promise<void> | undefined;

  const lose = (id: string) => {
    if (!held.delete(id)) return;
    lostIds.add(id);
    logger.warn({ instanceId: id, token: tokens.get(id) }, "instance lease lost (taken over): not acting on it");
    onLost(id);
  };

  const renew = async () => {
    if (held.size === 0) return;
    const fences: LeaseFence[] = [...held].map((key) => ({ key, token: tokens.get(key)! }));
    let renewed: Set<string>;
    try {
      renewed = new Set((await leases.renew(workerId, fences, ttlMs)).map((l) => l.key));
    } catch (err) {
      logger.warn({ err: toFleetError(err).toJSON() }, "lease renewal failed; retrying");
      return;
    }
    for (const f of fences) if (held.has(f.key) && tokens.get(f.key) === f.token && !renewed.has(f.key)) lose(f.key);
  };

  const claim: InstanceClaim = {
    mayAct(inst, runtime) {
      if (sharedRuntime(runtime) || held.has(inst.id)) return true;
      const other = others.get(inst.id);
      return !(other?.live && other.holder !== workerId);
    },
    async hold(inst, runtime, signal) {
      if (sharedRuntime(runtime)) return true;
      if (held.has(inst.id)) return true;
      const lease = await leases.acquire(inst.id, workerId, ttlMs, { signal });
      if (!lease) return false;
      tokens.set(inst.id, lease.token);
      held.add(inst.id);
      others.delete(inst.id);
      return true;
    },
    async confirm(id, signal) {
      const token = tokens.get(id);
      if (token === undefined) return true; // never leased here: a shared runtime's instance
      if (!held.has(id)) return false;
      const renewed = await leases.renew(workerId, [{ key: id, token }], ttlMs, { signal });
      if (renewed.length === 0) lose(id);
      return renewed.length > 0;
    },
    fence(id) {
      const token = tokens.get(id);
      return token === undefined ? undefined : { key: id, token };
    },
    lose,
    drop(id) {
      held.delete(id);
      tokens.delete(id);
      lostIds.delete(id);
    },
    lost: () => lostIds,
    async refresh(signal) {
      const next = new Map<string, LeaseState>();
      for (const l of await leases.list({ signal })) if (l.live && l.holder !== workerId) next.set(l.key, l);
      others = next;
    },
    start(listener) {
      onLost = listener;
      if (timer) return;
      timer = setInterval(
        () => {
          renewing ??= renew().finally(() => {
            renewing = undefined;
          });
        },
        Math.max(1, Math.floor(ttlMs / 3)),
      );
      timer.unref?.();
    },
    async stop() {
      // leases are not released: what this worker runs may outlive it briefly; they expire
      if (timer) clearInterval(timer);
      timer = undefined;
      await renewing;
    },
    claimFields: () => ({ observed_by: workerId }),
    ownerOf(inst, runtime) {
      return sharedRuntime(runtime) ? inst.observed_by : workerId;
    },
  };
  return claim;
}
