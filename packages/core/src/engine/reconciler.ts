import { FleetError, toFleetError } from "../errors.js";
import type { FleetEvent } from "../events.js";
import type { Instance } from "../model/types.js";
import type { Subscription } from "../plugins/bus.js";
import type { ObservedInstance, RuntimeBackend } from "../plugins/runtime.js";
import { type InstanceClaim, updatedAtClaim } from "./claim.js";
import type { EngineContext } from "./context.js";
import { HealthMonitor, type ProbeGaveUp } from "./health-monitor.js";
import { KeyedQueue } from "./keyed-queue.js";
import { leaseClaim } from "./lease-claim.js";
import { ReconcileEffects } from "./reconcile-effects.js";
import { needsInspect, type PlanObservation, plan, type RuntimeObservation } from "./reconcile-plan.js";
import { restartDelay, restartsWhenUnhealthy } from "./restart-policy.js";
import { specTypeOf } from "./spec-type.js";

/** Instances read per page by a resync pass on stores with `query`. */
const RESYNC_PAGE = 500;

const DESIRED_EVENTS = new Set(["MCPServerInstanceCreated", "MCPServerInstanceUpdated", "MCPServerInstanceDeleted"]);

/**
 * Level-triggered reconciler: for each instance, compares desired state (store: desired_state,
 * generation, spec_hash) with what its runtime reports and converges. Runs on bus events, runtime
 * watch events, a periodic resync and at start-up (adopting owned objects, removing orphans).
 * Work is serialised per instance and bounded in concurrency; failures retry with exponential
 * backoff and jitter; a crash loop ends in `failed` after `maxRestarts`.
 *
 * Each pass reads the instance, asks the runtime (when the plan needs it), computes the steps with
 * the pure `plan` (reconcile-plan.ts) and executes them (reconcile-effects.ts). Restart decisions
 * are in restart-policy.ts, who may act on an instance in claim.ts.
 */
export class Reconciler {
  readonly health: HealthMonitor;
  private readonly queue: KeyedQueue;
  private readonly abort = new AbortController();
  private readonly retryTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly claim: InstanceClaim;
  private readonly effects: ReconcileEffects;
  private subscription: Subscription | undefined;
  private resyncTimer: ReturnType<typeof setInterval> | undefined;
  private started = false;
  /** Instances whose runtime deploy call is in flight (it may wait long on the server). */
  private readonly inDeploy = new Set<string>();
  /** Event deliveries waiting for their instance's pass to finish or to reach the runtime deploy. */
  private readonly deployWaiters = new Map<string, Set<() => void>>();

  constructor(private readonly ctx: EngineContext) {
    const leases = ctx.store.leases;
    this.claim = leases
      ? leaseClaim({ workerId: ctx.workerId, leases, ttlMs: ctx.settings.leaseTtlMs, logger: ctx.logger })
      : updatedAtClaim(ctx.workerId, ctx.settings.claimTtlMs);
    this.health = new HealthMonitor(
      ctx,
      (gaveUp) => {
        this.probeGaveUp(gaveUp).catch((err) =>
          ctx.logger.error(
            { instanceId: gaveUp.id, err: toFleetError(err).toJSON() },
            "restart after failed probes failed",
          ),
        );
      },
      (id) => this.claim.fence(id),
    );
    this.queue = new KeyedQueue(
      ctx.settings.concurrency,
      ctx.observe.reconciles ? (id) => this.timedReconcile(id) : (id) => this.reconcile(id),
      (id, err) => {
        ctx.logger.error({ instanceId: id, err: toFleetError(err).toJSON() }, "reconcile failed");
      },
    );
    this.effects = new ReconcileEffects({
      ctx,
      health: this.health,
      claim: this.claim,
      signal: this.abort.signal,
      runtimeOf: (inst) => this.runtimeOf(inst),
      requeue: (id) => this.queue.enqueue(id),
      claimed: (id) => this.releaseWaiters(id),
      scheduleRetry: (id, attempt) => this.scheduleRetry(id, attempt),
      deploying: (id, active) => {
        if (!active) {
          this.inDeploy.delete(id);
          return;
        }
        this.inDeploy.add(id);
        this.releaseWaiters(id);
      },
    });
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { ctx } = this;
    this.subscription = await ctx.bus.subscribe(
      { group: ctx.settings.group, consumer: ctx.workerId, signal: this.abort.signal },
      (event) => this.onEvent(event),
    );
    for (const runtime of new Set(ctx.runtimes.values())) this.watchRuntime(runtime);
    this.claim.start((id) => {
      this.health.forget(id);
      this.queue.enqueue(id); // the pass removes what this worker still runs for it
    });
    await this.adopt();
    this.resyncTimer = setInterval(() => void this.periodicResync(), ctx.settings.resyncIntervalMs);
    this.resyncTimer.unref?.();
  }

  /** Enqueue one instance; resolves when a pass that started after this call is done. */
  trigger(id: string): Promise<void> {
    return this.queue.enqueueAndWait(id);
  }

  /** One full pass over every instance this worker may act on; resolves when all are reconciled. */
  async resync(): Promise<void> {
    await this.claim.refresh(this.abort.signal);
    const passes: Promise<void>[] = [];
    for await (const page of this.pages()) {
      const now = Date.now();
      for (const i of page) if (this.mayAct(i, now)) passes.push(this.queue.enqueueAndWait(i.id));
    }
    await Promise.all(passes);
  }

  /**
   * Every instance, a page at a time when the store can query (never the whole table at once),
   * else one `list()`.
   */
  private async *pages(): AsyncGenerator<readonly Instance[]> {
    const repo = this.ctx.store.instances;
    const signal = this.abort.signal;
    if (!repo.query) {
      yield await repo.list({ signal });
      return;
    }
    let cursor: string | undefined;
    do {
      const page = await repo.query({ limit: RESYNC_PAGE, ...(cursor ? { cursor } : {}) }, { signal });
      yield page.items;
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** Event deliveries waiting on `id` are acked now (its pass goes on). */
  private releaseWaiters(id: string): void {
    for (const w of this.deployWaiters.get(id) ?? []) w();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  async stop(): Promise<void> {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    const drained = this.queue.stop();
    const bound = new Promise((r) => setTimeout(r, this.ctx.settings.closeTimeoutMs).unref?.());
    await Promise.race([drained, bound]);
    this.abort.abort(); // cancels what is still in flight (deploys take the signal)
    await drained;
    await this.claim.stop();
    await this.subscription?.close().catch(() => {});
  }

  /** The timer's pass: a failure (the store unreachable) is logged and the next tick tries again. */
  private async periodicResync(): Promise<void> {
    try {
      await this.resync();
    } catch (err) {
      if (this.abort.signal.aborted) return;
      this.ctx.logger.warn({ err: toFleetError(err).toJSON() }, "periodic resync failed");
    }
  }

  private async onEvent(event: FleetEvent): Promise<void> {
    this.ctx.observe.eventReceived(event, "reconciler");
    if (!DESIRED_EVENTS.has(event.type) || !event.subject) return;
    // acked when the pass ends or once it has claimed the instance (moved it to provisioning under
    // its claim) for a deploy: a deploy waiting on a slow server (its initialize), or the lease
    // confirmation and secret reads before it, must not hold the delivery of other instances'
    // events. A worker that dies mid-deploy leaves a claim another worker takes over (its lease
    // expires, or claimTtlMs), as before. Waiting for the claim keeps consumer groups sharing the load.
    const id = event.subject;
    if (this.inDeploy.has(id)) {
      this.queue.enqueue(id); // runs again after the deploy in flight
      return;
    }
    let resolveDeploying!: () => void;
    const deploying = new Promise<void>((r) => {
      resolveDeploying = r;
    });
    const waiters = this.deployWaiters.get(id) ?? new Set();
    waiters.add(resolveDeploying);
    this.deployWaiters.set(id, waiters);
    try {
      await Promise.race([this.queue.enqueueAndWait(id), deploying]);
    } finally {
      waiters.delete(resolveDeploying);
      if (waiters.size === 0 && this.deployWaiters.get(id) === waiters) this.deployWaiters.delete(id);
    }
  }

  private watchRuntime(runtime: RuntimeBackend): void {
    if (!runtime.watch) return;
    const signal = this.abort.signal;
    void (async () => {
      try {
        for await (const ev of runtime.watch!({ signal })) this.queue.enqueue(ev.instanceId);
      } catch (err) {
        if (!signal.aborted)
          this.ctx.logger.warn({ runtime: runtime.name, err: toFleetError(err).toJSON() }, "runtime watch ended");
      }
    })();
  }

  /** Start-up: remove owned objects with no desired instance, then reconcile everything. */
  private async adopt(): Promise<void> {
    const { ctx } = this;
    for (const runtime of new Set(ctx.runtimes.values())) {
      let observed: ObservedInstance[];
      try {
        observed = await runtime.list({ signal: this.abort.signal });
      } catch (err) {
        ctx.logger.warn({ runtime: runtime.name, err: toFleetError(err).toJSON() }, "runtime list failed at start-up");
        continue;
      }
      for (const o of observed) {
        const inst = await ctx.store.instances.get(o.instanceId);
        if (!inst || inst.desired_state === "deleted") {
          ctx.logger.info({ instanceId: o.instanceId, runtime: runtime.name }, "removing orphan");
          await runtime
            .remove(o.instanceId)
            .catch((err) =>
              ctx.logger.warn({ instanceId: o.instanceId, err: toFleetError(err).toJSON() }, "orphan removal failed"),
            );
        }
      }
    }
    await this.claim.refresh(this.abort.signal);
    for await (const page of this.pages()) {
      const now = Date.now();
      for (const inst of page) if (this.mayAct(inst, now)) this.queue.enqueue(inst.id);
    }
  }

  private mayAct(inst: Instance, now: number): boolean {
    return this.claim.mayAct(inst, this.runtimeOf(inst), now);
  }

  private runtimeOf(inst: Instance): RuntimeBackend | undefined {
    return this.ctx.runtimes.get(specTypeOf(inst.json_spec));
  }

  private scheduleRetry(id: string, attempt: number): number {
    const delay = restartDelay(attempt, this.ctx.settings);
    const old = this.retryTimers.get(id);
    if (old) clearTimeout(old);
    const timer = setTimeout(() => {
      this.retryTimers.delete(id);
      this.queue.enqueue(id);
    }, delay);
    timer.unref?.();
    this.retryTimers.set(id, timer);
    return delay;
  }

  private async timedReconcile(id: string): Promise<void> {
    const t0 = performance.now();
    let outcome: "ok" | "error" = "error";
    try {
      await this.reconcile(id);
      outcome = "ok";
    } finally {
      this.ctx.observe.reconciled({ instanceId: id, durationMs: performance.now() - t0, outcome });
    }
  }

  private async reconcile(id: string): Promise<void> {
    const inst = await this.ctx.store.instances.get(id);
    const runtime = inst && this.runtimeOf(inst);
    if (inst && !(this.mayAct(inst, Date.now()) && (await this.claim.hold(inst, runtime, this.abort.signal)))) {
      if (this.claim.lost().has(id)) await this.removeLost(id, runtime);
      return;
    }
    if (!inst) this.claim.drop(id);
    const observed: PlanObservation = {
      runtime: await this.observe(inst, runtime),
      retryPending: this.retryTimers.has(id),
      owner: inst ? this.claim.ownerOf(inst, runtime) : undefined,
    };
    const steps = plan(inst, observed, Date.now(), this.ctx.settings);
    try {
      await this.effects.run(id, inst, steps, runtime);
    } catch (err) {
      if (!(FleetError.isInstance(err) && err.code === "FENCED")) throw err;
      // another worker took the lease over while this pass ran: it deploys its own copy
      this.ctx.logger.warn({ instanceId: id, code: err.code }, "write refused: the instance lease was taken over");
      this.claim.lose(id);
      await this.removeLost(id, runtime);
    }
  }

  /** The lease of `id` was taken over: remove what this worker still runs for it (never shared objects). */
  private async removeLost(id: string, runtime: RuntimeBackend | undefined): Promise<void> {
    this.health.forget(id);
    const local = runtime && !runtime.capabilities?.shared ? runtime : undefined;
    if (local && (await local.inspect(id, { signal: this.abort.signal }))) {
      this.ctx.logger.warn({ instanceId: id }, "removing a local copy of an instance whose lease was taken over");
      await local.remove(id, { signal: this.abort.signal });
    }
    this.claim.lost().delete(id);
  }

  private async observe(inst: Instance | undefined, runtime: RuntimeBackend | undefined): Promise<RuntimeObservation> {
    if (!inst) return { kind: "not-inspected" };
    if (!runtime) return { kind: "no-runtime" };
    if (!needsInspect(inst, true, this.retryTimers.has(inst.id))) return { kind: "not-inspected" };
    const found = await runtime.inspect(inst.id, { signal: this.abort.signal });
    return found ? { kind: "present", instance: found } : { kind: "absent" };
  }

  /**
   * The health monitor gave up: liveness failed for long enough (restart unless the policy is `no`,
   * which leaves it `unhealthy`), or readiness did not pass within `startTimeoutMs` (the start-timeout
   * rule: a crash, the restart policy decides).
   */
  private async probeGaveUp(gaveUp: ProbeGaveUp): Promise<void> {
    const inst = await this.ctx.store.instances.get(gaveUp.id);
    if (inst?.desired_state !== "running" || inst.spec_hash !== gaveUp.specHash) return;
    if (!(await this.claim.hold(inst, this.runtimeOf(inst), this.abort.signal))) return;
    if (gaveUp.during === "liveness" && (inst.status !== "unhealthy" || !restartsWhenUnhealthy(inst))) return;
    if (gaveUp.during === "readiness" && inst.status !== "starting") return;
    const reason = gaveUp.during === "liveness" ? `unhealthy: ${gaveUp.reason}` : gaveUp.reason;
    await this.effects.crash(inst, { instanceId: inst.id, specHash: inst.spec_hash, phase: "exited", reason });
  }
}
