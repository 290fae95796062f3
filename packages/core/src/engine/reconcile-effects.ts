import { FleetError, toFleetError } from "../errors.js";
import type { Instance } from "../model/types.js";
import type { ObservedInstance, RuntimeBackend } from "../plugins/runtime.js";
import type { InstanceClaim } from "./claim.js";
import type { EngineContext } from "./context.js";
import { buildDeployRequest } from "./deploy-request.js";
import type { HealthMonitor } from "./health-monitor.js";
import { mutateInstance as writeInstance, changeStatus as writeStatus } from "./instance-writer.js";
import { type Step, settleStoppedEvents } from "./reconcile-plan.js";
import { afterCrash, afterDeployFailure } from "./restart-policy.js";
import { checkReplicas } from "./runtime-checks.js";

/** What the effects need from the reconciler that drives them. */
export interface EffectsHost {
  readonly ctx: EngineContext;
  readonly health: HealthMonitor;
  readonly claim: InstanceClaim;
  readonly signal: AbortSignal;
  runtimeOf(inst: Instance): RuntimeBackend | undefined;
  /** Reconcile this instance again soon (fresh state). */
  requeue(id: string): void;
  /** Reconcile again after the backoff for `attempt`; returns the delay. */
  scheduleRetry(id: string, attempt: number): number;
  /** Told when the instance is claimed for a deploy (moved to provisioning under this worker's claim). */
  claimed?(id: string): void;
  /** Told when `runtime.deploy` starts (true) and ends (false) for an instance. */
  deploying?(id: string, active: boolean): void;
}

/** Executes the steps of a plan: every store write, runtime call and probe of the reconciler. */
export class ReconcileEffects {
  private readonly runningSince = new Map<string, number>();

  constructor(private readonly host: EffectsHost) {}

  /** Every write of the reconciler carries this worker's lease fence on the instance (when it has one). */
  private changeStatus(
    ctx: EngineContext,
    id: string,
    events: Parameters<typeof writeStatus>[2],
    patch?: Partial<Instance>,
    guard?: (current: Instance) => boolean,
    known?: Instance,
  ) {
    return writeStatus(ctx, id, events, patch, guard, this.host.claim.fence(id), known);
  }

  private mutateInstance(ctx: EngineContext, id: string, fn: (current: Instance) => Instance | undefined) {
    return writeInstance(ctx, id, fn, this.host.claim.fence(id));
  }

  async run(id: string, inst: Instance | undefined, steps: Step[], runtime: RuntimeBackend | undefined) {
    // the document the pass read stays current until a step writes (a probe first in the plan uses it)
    let current = inst;
    for (const step of steps) {
      await this.step(id, inst, step, runtime, current);
      current = undefined;
    }
  }

  private async step(
    id: string,
    inst: Instance | undefined,
    step: Step,
    runtime: RuntimeBackend | undefined,
    current: Instance | undefined,
  ) {
    const { ctx, health, signal } = this.host;
    switch (step.kind) {
      case "remove-everywhere":
        return this.removeEverywhere(id);
      case "finish-delete":
        return this.finishDelete(inst!, runtime);
      case "fail":
        return this.fail(id, step.reason, step.code);
      case "mark-stopping":
        health.forget(id);
        await this.changeStatus(ctx, id, step.events, {}, (c) =>
          ["provisioning", "starting", "running", "unhealthy"].includes(c.status),
        );
        return;
      case "remove":
        health.forget(id);
        return runtime!.remove(id, { signal });
      case "settle-stopped":
        return this.settleStopped(id);
      case "deploy":
        return this.deploy(inst!, runtime!);
      case "crash":
        return this.crash(inst!, step.observed);
      case "mark-provisioned":
        await this.changeStatus(ctx, id, "provisioned", {}, (c) => c.status === "provisioning");
        return;
      case "record-observed":
        await this.mutateInstance(ctx, id, (c) => ({
          ...c,
          observed_generation: c.generation,
          observed_by: step.owner ?? ctx.workerId,
          endpoint: step.endpoint,
        }));
        return;
      case "probe": {
        const fresh = current ?? (await ctx.store.instances.get(id)) ?? inst!;
        await health.ensure(fresh, step.observed, signal);
        this.noteStable(fresh);
        return;
      }
    }
  }

  /** The instance is gone: forget it, then remove what any runtime still holds. */
  forget(id: string): void {
    this.host.health.forget(id);
    this.runningSince.delete(id);
  }

  private async removeEverywhere(id: string): Promise<void> {
    this.forget(id);
    for (const runtime of new Set(this.host.ctx.runtimes.values())) {
      if (await runtime.inspect(id).catch(() => undefined)) await runtime.remove(id);
    }
  }

  private async finishDelete(inst: Instance, runtime: RuntimeBackend | undefined): Promise<void> {
    const { ctx, signal } = this.host;
    this.host.health.forget(inst.id);
    if (inst.status !== "deleting" && inst.status !== "deleted") {
      await this.changeStatus(ctx, inst.id, "delete", { status_reason: null }, (c) => c.status !== "deleting");
    }
    await runtime?.remove(inst.id, { signal });
    await deleteInstanceSecrets(ctx, inst.id);
    await this.changeStatus(ctx, inst.id, "deleted", { endpoint: null }, (c) => c.status === "deleting");
    const fence = this.host.claim.fence(inst.id);
    await ctx.store.instances.delete(inst.id, fence ? { fence } : undefined);
    this.host.claim.drop(inst.id);
    this.runningSince.delete(inst.id);
  }

  private async settleStopped(id: string): Promise<void> {
    const { ctx } = this.host;
    this.host.health.forget(id);
    const cur = await ctx.store.instances.get(id);
    const events = cur && settleStoppedEvents(cur.status);
    if (!cur || !events) {
      if (cur && cur.observed_generation !== cur.generation) {
        await this.mutateInstance(ctx, cur.id, (c) => ({ ...c, observed_generation: c.generation }));
      }
      return;
    }
    await this.changeStatus(
      ctx,
      id,
      events,
      { endpoint: null, status_reason: null },
      (c) => c.desired_state === "stopped",
    );
    await this.mutateInstance(ctx, id, (c) =>
      c.observed_generation === c.generation ? undefined : { ...c, observed_generation: c.generation },
    );
    this.runningSince.delete(id);
  }

  /** Resets the crash counter once an instance has stayed running for `stableAfterMs`. */
  private noteStable(inst: Instance): void {
    const { ctx } = this.host;
    if (inst.status !== "running" || inst.restart_count === 0) {
      this.runningSince.delete(inst.id);
      return;
    }
    const since = this.runningSince.get(inst.id);
    if (since === undefined) {
      this.runningSince.set(inst.id, Date.now());
      return;
    }
    if (Date.now() - since >= ctx.settings.stableAfterMs) {
      void this.mutateInstance(ctx, inst.id, (c) =>
        c.restart_count === 0 ? undefined : { ...c, restart_count: 0 },
      ).catch(() => {}); // a refused or failed reset is tried again on the next probe
    }
  }

  private async deploy(inst: Instance, runtime: RuntimeBackend): Promise<void> {
    const { ctx, signal } = this.host;
    this.forget(inst.id);
    const toProvisioning = await this.moveToProvisioning(inst);
    if (!toProvisioning) {
      // lost the claim: the document changed since it was read (another worker, the API, a probe);
      // look again with fresh state (stops there if another worker now owns it)
      this.host.requeue(inst.id);
      return;
    }
    this.host.claimed?.(inst.id);
    let observed: ObservedInstance;
    try {
      const request = await buildDeployRequest(ctx, toProvisioning, signal);
      checkReplicas(request.spec, runtime);
      // the last moment to find the lease taken over before an effect the store cannot fence
      if (!(await this.host.claim.confirm(inst.id, signal))) {
        throw new FleetError("FENCED", `lease on ${inst.id} was taken over before deploy`, { path: "fence" });
      }
      this.host.deploying?.(inst.id, true);
      try {
        observed = await runtime.deploy(request, { signal });
      } finally {
        this.host.deploying?.(inst.id, false);
      }
    } catch (err) {
      if (signal.aborted) return;
      if (FleetError.isInstance(err) && err.code === "FENCED") throw err;
      return this.deployFailed(toProvisioning, toFleetError(err, "DEPLOY_FAILED"));
    }
    const after = await this.changeStatus(
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
      toProvisioning,
    );
    if (after?.status !== "starting") return;
    if (observed.phase === "running") await this.host.health.ensure(after, observed, signal);
    else if (observed.phase === "failed" || observed.phase === "exited") await this.crash(after, observed);
  }

  /**
   * pending|stopped|failed -> provision; starting|running|unhealthy -> restart; stopping -> stopped -> provision.
   * Also the claim: the write carries the claim fields and only succeeds on the revision the
   * reconciler read, so when two workers race for one instance exactly one deploys it.
   */
  private moveToProvisioning(inst: Instance): Promise<Instance | undefined> {
    return this.changeStatus(
      this.host.ctx,
      inst.id,
      inst.status === "provisioning"
        ? []
        : inst.status === "stopping"
          ? ["stopped", "provision"]
          : ["pending", "stopped", "failed"].includes(inst.status)
            ? "provision"
            : "restart",
      this.host.claim.claimFields(),
      (c) => c.revision === inst.revision && c.desired_state === "running",
      inst,
    );
  }

  private async deployFailed(inst: Instance, err: FleetError): Promise<void> {
    const { ctx } = this.host;
    const decision = afterDeployFailure(inst, err, ctx.settings);
    if (decision.kind === "fail") return this.fail(inst.id, decision.reason, err.code, decision.restartCount);
    const { attempt, reason } = decision;
    await this.mutateInstance(ctx, inst.id, (c) => ({ ...c, restart_count: attempt, status_reason: reason }));
    const delay = this.host.scheduleRetry(inst.id, attempt);
    ctx.logger.warn({ instanceId: inst.id, attempt, delayMs: delay, code: err.code }, "deploy failed, retrying");
  }

  /** The instance stopped on its own (exit, crash, start timeout, failed liveness): the restart policy decides. */
  async crash(inst: Instance, observed: ObservedInstance): Promise<void> {
    const { ctx } = this.host;
    this.forget(inst.id);
    const decision = afterCrash(inst, observed, ctx.settings);
    if (decision.kind === "fail") return this.fail(inst.id, decision.reason, "DEPLOY_FAILED", decision.restartCount);
    const { attempt, reason } = decision;
    await this.mutateInstance(ctx, inst.id, (c) => ({ ...c, restart_count: attempt, status_reason: reason }));
    await this.host
      .runtimeOf(inst)
      ?.remove(inst.id)
      .catch(() => {});
    const delay = this.host.scheduleRetry(inst.id, attempt);
    ctx.logger.warn({ instanceId: inst.id, attempt, delayMs: delay }, "instance exited, restarting");
  }

  private async fail(id: string, reason: string, code: string, restartCount?: number): Promise<void> {
    const { ctx } = this.host;
    this.host.health.forget(id);
    await this.changeStatus(
      ctx,
      id,
      "fail",
      { status_reason: reason, ...(restartCount === undefined ? {} : { restart_count: restartCount }) },
      (c) => c.status !== "failed" && c.status !== "stopped" && c.status !== "deleted" && c.status !== "deleting",
    ).catch((err) => {
      if (!(FleetError.isInstance(err) && err.code === "INVALID_TRANSITION")) throw err;
    });
    await this.mutateInstance(ctx, id, (c) =>
      c.observed_generation === c.generation && c.status_reason === reason
        ? undefined
        : { ...c, observed_generation: c.generation, status_reason: c.status === "failed" ? reason : c.status_reason },
    );
    ctx.logger.warn({ instanceId: id, code }, `instance failed: ${reason}`);
  }
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
