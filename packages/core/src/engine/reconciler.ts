import { FleetError, toFleetError } from "../errors.js";
import type { FleetEvent } from "../events.js";
import type { RestartPolicy } from "../model/spec-types.js";
import type { Instance } from "../model/types.js";
import type { Subscription } from "../plugins/bus.js";
import type { ObservedInstance, RuntimeBackend } from "../plugins/runtime.js";
import type { EngineContext } from "./context.js";
import { buildDeployRequest } from "./deploy-request.js";
import type { HealthMonitor } from "./health-monitor.js";
import { changeStatus, mutateInstance } from "./instance-writer.js";
import { KeyedQueue } from "./keyed-queue.js";
import { specTypeOf } from "./spec-type.js";

const DESIRED_EVENTS = new Set(["MCPServerInstanceCreated", "MCPServerInstanceUpdated", "MCPServerInstanceDeleted"]);

/**
 * Level-triggered reconciler: for each instance, compares desired state (store: desired_state,
 * generation, spec_hash) with what its runtime reports and converges. Runs on bus events, runtime
 * watch events, a periodic resync and at start-up (adopting owned objects, removing orphans).
 * Work is serialised per instance and bounded in concurrency; failures retry with exponential
 * backoff and jitter; a crash loop ends in `failed` after `maxRestarts`.
 */
export class Reconciler {
  private readonly queue: KeyedQueue;
  private readonly abort = new AbortController();
  private readonly retryTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly runningSince = new Map<string, number>();
  private subscription: Subscription | undefined;
  private resyncTimer: ReturnType<typeof setInterval> | undefined;
  private started = false;

  constructor(
    private readonly ctx: EngineContext,
    private readonly health: HealthMonitor,
  ) {
    this.queue = new KeyedQueue(
      ctx.settings.concurrency,
      ctx.observe.reconciles ? (id) => this.timedReconcile(id) : (id) => this.reconcile(id),
      (id, err) => {
        ctx.logger.error({ instanceId: id, err: toFleetError(err).toJSON() }, "reconcile failed");
      },
    );
    health.onRestartNeeded = (id, reason) => void this.restartUnhealthy(id, reason);
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
    await this.adopt();
    this.resyncTimer = setInterval(() => void this.resync().catch(() => {}), ctx.settings.resyncIntervalMs);
    this.resyncTimer.unref?.();
  }

  /** Enqueue one instance; resolves when a pass that started after this call is done. */
  trigger(id: string): Promise<void> {
    return this.queue.enqueueAndWait(id);
  }

  /** One full pass over every instance this worker may act on; resolves when all are reconciled. */
  async resync(): Promise<void> {
    const all = await this.ctx.store.instances.list({ signal: this.abort.signal });
    await Promise.all(all.filter((i) => this.mayAct(i)).map((i) => this.queue.enqueueAndWait(i.id)));
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
    await this.subscription?.close().catch(() => {});
  }

  private async onEvent(event: FleetEvent): Promise<void> {
    this.ctx.observe.eventReceived(event, "reconciler");
    if (!DESIRED_EVENTS.has(event.type) || !event.subject) return;
    await this.queue.enqueueAndWait(event.subject);
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
    const all = await ctx.store.instances.list();
    for (const inst of all) if (this.mayAct(inst)) this.queue.enqueue(inst.id);
  }

  /**
   * Instances on process-local runtimes belong to the worker that deployed them; another worker takes
   * over only an unfinished claim that has gone stale (its worker died between claim and done).
   */
  private mayAct(inst: Instance): boolean {
    if (!inst.observed_by || inst.observed_by === this.ctx.workerId) return true;
    const runtime = this.ctx.runtimes.get(specTypeOf(inst.json_spec));
    if (runtime?.capabilities?.shared === true) return true;
    const unfinished =
      inst.desired_state !== "running" ||
      inst.status === "pending" ||
      inst.status === "provisioning" ||
      inst.status === "starting";
    return unfinished && Date.now() - Date.parse(inst.updated_at) > this.ctx.settings.claimTtlMs;
  }

  private runtimeOf(inst: Instance): RuntimeBackend | undefined {
    return this.ctx.runtimes.get(specTypeOf(inst.json_spec));
  }

  private scheduleRetry(id: string, attempt: number): number {
    const { backoffBaseMs, backoffMaxMs } = this.ctx.settings;
    const exp = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.max(0, attempt - 1));
    const delay = Math.round(exp / 2 + Math.random() * (exp / 2));
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
    const { ctx } = this;
    const inst = await ctx.store.instances.get(id);
    if (!inst) {
      await this.removeEverywhere(id);
      return;
    }
    if (!this.mayAct(inst)) return;
    const runtime = this.runtimeOf(inst);
    if (inst.desired_state === "deleted") return this.finishDelete(inst, runtime);
    if (!runtime) {
      if (inst.status === "failed" && inst.observed_generation === inst.generation) return;
      await this.fail(
        inst.id,
        `no runtime configured for spec type "${specTypeOf(inst.json_spec)}"`,
        "RUNTIME_UNAVAILABLE",
      );
      return;
    }
    if (inst.desired_state === "stopped") return this.ensureStopped(inst, runtime);
    return this.ensureRunning(inst, runtime);
  }

  private async removeEverywhere(id: string): Promise<void> {
    this.health.forget(id);
    this.runningSince.delete(id);
    for (const runtime of new Set(this.ctx.runtimes.values())) {
      if (await runtime.inspect(id).catch(() => undefined)) await runtime.remove(id);
    }
  }

  private async finishDelete(inst: Instance, runtime: RuntimeBackend | undefined): Promise<void> {
    const { ctx } = this;
    this.health.forget(inst.id);
    if (inst.status !== "deleting" && inst.status !== "deleted") {
      await changeStatus(ctx, inst.id, "delete", { status_reason: null }, (c) => c.status !== "deleting");
    }
    await runtime?.remove(inst.id, { signal: this.abort.signal });
    await deleteInstanceSecrets(ctx, inst.id);
    const last = await changeStatus(ctx, inst.id, "deleted", { endpoint: null }, (c) => c.status === "deleting");
    await ctx.store.instances.delete(inst.id);
    this.runningSince.delete(inst.id);
    if (!last) return;
  }

  private async ensureStopped(inst: Instance, runtime: RuntimeBackend): Promise<void> {
    const { ctx } = this;
    this.health.forget(inst.id);
    const observed = await runtime.inspect(inst.id, { signal: this.abort.signal });
    if (observed) {
      if (inst.status !== "stopping") {
        await changeStatus(
          ctx,
          inst.id,
          inst.status === "failed" || inst.status === "pending" ? ["stop"] : "stop",
          {},
          (c) => ["provisioning", "starting", "running", "unhealthy"].includes(c.status),
        );
      }
      await runtime.remove(inst.id, { signal: this.abort.signal });
    }
    const cur = await ctx.store.instances.get(inst.id);
    if (!cur || cur.status === "stopped") {
      if (cur && cur.observed_generation !== cur.generation) {
        await mutateInstance(ctx, cur.id, (c) => ({ ...c, observed_generation: c.generation }));
      }
      return;
    }
    const steps =
      cur.status === "stopping"
        ? (["stopped"] as const)
        : cur.status === "pending" || cur.status === "failed"
          ? (["stop"] as const)
          : (["stop", "stopped"] as const);
    await changeStatus(
      ctx,
      cur.id,
      [...steps],
      { endpoint: null, status_reason: null },
      (c) => c.desired_state === "stopped",
    );
    await mutateInstance(ctx, cur.id, (c) =>
      c.observed_generation === c.generation ? undefined : { ...c, observed_generation: c.generation },
    );
    this.runningSince.delete(inst.id);
  }

  private async ensureRunning(inst: Instance, runtime: RuntimeBackend): Promise<void> {
    const { ctx } = this;
    // failed is terminal for this generation (start or update bumps it)
    if (inst.status === "failed" && inst.observed_generation === inst.generation) return;
    if (this.retryTimers.has(inst.id)) return; // backing off
    const observed = await runtime.inspect(inst.id, { signal: this.abort.signal });
    if (
      observed &&
      observed.specHash === inst.spec_hash &&
      (observed.phase === "exited" || observed.phase === "failed")
    ) {
      return this.handleCrash(inst, observed);
    }
    const notDeployed = inst.status === "pending" || inst.status === "stopped" || inst.status === "failed";
    if (!observed || observed.specHash !== inst.spec_hash || notDeployed) return this.deploy(inst, runtime);

    // the runtime has our spec: bring the stored status in line with it
    if (inst.status === "provisioning")
      await changeStatus(ctx, inst.id, "provisioned", {}, (c) => c.status === "provisioning");
    if (observed.phase !== "running") {
      // created but never started (a worker died between create and start), or stuck starting;
      // a running instance whose runtime briefly reports starting (a rescheduled pod) is left alone
      const waitedMs = Date.now() - Date.parse(inst.updated_at);
      const unfinished = inst.status === "starting" || inst.status === "provisioning";
      if (unfinished && waitedMs > ctx.settings.startTimeoutMs) {
        return this.handleCrash(inst, {
          ...observed,
          phase: "exited",
          reason: `not running after ${ctx.settings.startTimeoutMs} ms (runtime reports ${observed.phase})`,
        });
      }
      return;
    }
    const endpoint = observed.endpoint ?? null;
    const owner = runtime.capabilities?.shared ? inst.observed_by : ctx.workerId;
    if (inst.observed_generation !== inst.generation || inst.endpoint !== endpoint || inst.observed_by !== owner) {
      await mutateInstance(ctx, inst.id, (c) => ({
        ...c,
        observed_generation: c.generation,
        observed_by: owner ?? ctx.workerId,
        endpoint,
      }));
    }
    const fresh = (await ctx.store.instances.get(inst.id)) ?? inst;
    await this.health.ensure(fresh, observed, this.abort.signal);
    this.noteStable(fresh);
  }

  /** Resets the crash counter once an instance has stayed running for `stableAfterMs`. */
  private noteStable(inst: Instance): void {
    if (inst.status !== "running" || inst.restart_count === 0) {
      this.runningSince.delete(inst.id);
      return;
    }
    const since = this.runningSince.get(inst.id);
    if (since === undefined) {
      this.runningSince.set(inst.id, Date.now());
      return;
    }
    if (inst.restart_count > 0 && Date.now() - since >= this.ctx.settings.stableAfterMs) {
      void mutateInstance(this.ctx, inst.id, (c) => (c.restart_count === 0 ? undefined : { ...c, restart_count: 0 }));
    }
  }

  private async deploy(inst: Instance, runtime: RuntimeBackend): Promise<void> {
    const { ctx } = this;
    this.health.forget(inst.id);
    this.runningSince.delete(inst.id);
    const toProvisioning = await moveToProvisioning(ctx, inst);
    if (!toProvisioning) {
      // lost the claim: the document changed since it was read (another worker, the API, a probe);
      // look again with fresh state (stops there if another worker now owns it)
      this.queue.enqueue(inst.id);
      return;
    }
    let observed: ObservedInstance;
    try {
      const request = await buildDeployRequest(ctx, toProvisioning, this.abort.signal);
      observed = await runtime.deploy(request, { signal: this.abort.signal });
    } catch (err) {
      if (this.abort.signal.aborted) return;
      const fe = toFleetError(err, "DEPLOY_FAILED");
      return this.deployFailed(toProvisioning, fe);
    }
    const after = await changeStatus(
      ctx,
      inst.id,
      "provisioned",
      {
        observed_generation: toProvisioning.generation,
        observed_by: ctx.workerId,
        endpoint: observed.endpoint ?? null,
        status_reason: null,
      },
      (c) => c.status === "provisioning" && c.spec_hash === toProvisioning.spec_hash,
    );
    if (after?.status !== "starting") return;
    if (observed.phase === "running") await this.health.ensure(after, observed, this.abort.signal);
    else if (observed.phase === "failed" || observed.phase === "exited") await this.handleCrash(after, observed);
  }

  private async deployFailed(inst: Instance, err: FleetError): Promise<void> {
    const { ctx } = this;
    const attempts = inst.restart_count + 1;
    const reason = `${err.code}: ${err.message}`;
    if (!err.isRetryable || attempts > ctx.settings.maxRestarts) {
      const why = err.isRetryable ? `gave up after ${attempts} attempts: ${reason}` : reason;
      await this.fail(inst.id, why, err.code, attempts);
      return;
    }
    await mutateInstance(ctx, inst.id, (c) => ({ ...c, restart_count: attempts, status_reason: reason }));
    const delay = this.scheduleRetry(inst.id, attempts);
    ctx.logger.warn(
      { instanceId: inst.id, attempt: attempts, delayMs: delay, code: err.code },
      "deploy failed, retrying",
    );
  }

  private async handleCrash(inst: Instance, observed: ObservedInstance): Promise<void> {
    const { ctx } = this;
    this.health.forget(inst.id);
    this.runningSince.delete(inst.id);
    const reason =
      observed.reason ?? `exited${observed.exitCode === undefined ? "" : ` with code ${observed.exitCode}`}`;
    if (observed.permanent) {
      await this.fail(inst.id, reason, "DEPLOY_FAILED");
      return;
    }
    const policy = restartPolicyOf(inst);
    const wantsRestart =
      policy === "always" || policy === "unless-stopped" || (policy === "on-failure" && observed.exitCode !== 0);
    if (!wantsRestart) {
      await this.fail(inst.id, `${reason} (restart policy "${policy}")`, "DEPLOY_FAILED");
      return;
    }
    const attempts = inst.restart_count + 1;
    if (attempts > ctx.settings.maxRestarts) {
      await this.fail(
        inst.id,
        `crash loop: restarted ${inst.restart_count} times; last: ${reason}`,
        "DEPLOY_FAILED",
        attempts,
      );
      return;
    }
    await mutateInstance(ctx, inst.id, (c) => ({ ...c, restart_count: attempts, status_reason: reason }));
    await this.runtimeOf(inst)
      ?.remove(inst.id)
      .catch(() => {});
    const delay = this.scheduleRetry(inst.id, attempts);
    ctx.logger.warn({ instanceId: inst.id, attempt: attempts, delayMs: delay }, "instance exited, restarting");
  }

  private async restartUnhealthy(id: string, reason: string): Promise<void> {
    const inst = await this.ctx.store.instances.get(id);
    if (inst?.desired_state !== "running" || inst.status !== "unhealthy") return;
    const policy = restartPolicyOf(inst);
    if (policy === "no") return;
    await this.handleCrash(inst, {
      instanceId: id,
      specHash: inst.spec_hash,
      phase: "exited",
      reason: `unhealthy: ${reason}`,
    });
  }

  private async fail(id: string, reason: string, code: string, restartCount?: number): Promise<void> {
    this.health.forget(id);
    await changeStatus(
      this.ctx,
      id,
      "fail",
      { status_reason: reason, ...(restartCount === undefined ? {} : { restart_count: restartCount }) },
      (c) => c.status !== "failed" && c.status !== "stopped" && c.status !== "deleted" && c.status !== "deleting",
    ).catch((err) => {
      if (!(FleetError.isInstance(err) && err.code === "INVALID_TRANSITION")) throw err;
    });
    await mutateInstance(this.ctx, id, (c) =>
      c.observed_generation === c.generation && c.status_reason === reason
        ? undefined
        : { ...c, observed_generation: c.generation, status_reason: c.status === "failed" ? reason : c.status_reason },
    );
    this.ctx.logger.warn({ instanceId: id, code }, `instance failed: ${reason}`);
  }
}

function restartPolicyOf(inst: Instance): RestartPolicy {
  const raw = (inst.json_spec as { restart_policy?: unknown }).restart_policy;
  return raw === "always" || raw === "unless-stopped" || raw === "on-failure" || raw === "no" ? raw : "on-failure";
}

/**
 * pending|stopped|failed -> provision; starting|running|unhealthy -> restart; stopping -> stopped -> provision.
 * Also the claim: the write carries `observed_by` = this worker and only succeeds on the revision the
 * reconciler read, so when two workers race for one instance exactly one deploys it.
 */
async function moveToProvisioning(ctx: EngineContext, inst: Instance): Promise<Instance | undefined> {
  return changeStatus(
    ctx,
    inst.id,
    inst.status === "provisioning"
      ? []
      : inst.status === "stopping"
        ? ["stopped", "provision"]
        : ["pending", "stopped", "failed"].includes(inst.status)
          ? "provision"
          : "restart",
    { observed_by: ctx.workerId },
    (c) => c.revision === inst.revision && c.desired_state === "running",
  );
}

export async function deleteInstanceSecrets(ctx: EngineContext, id: string): Promise<void> {
  const scope = `instance_${id}`;
  if (ctx.secrets.capabilities?.write === false) return;
  try {
    if (ctx.secrets.deleteScope) await ctx.secrets.deleteScope(scope);
    else if (ctx.secrets.list)
      for (const key of await ctx.secrets.list(scope)) await ctx.secrets.delete({ scope, key });
  } catch (err) {
    ctx.logger.warn({ instanceId: id, err: toFleetError(err).toJSON() }, "could not delete instance secrets");
  }
}
