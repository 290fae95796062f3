import { pause } from "../adapter/async.js";
import { toFleetError } from "../errors.js";
import { isUrlSpec } from "../model/spec-guards.js";
import type { Instance } from "../model/types.js";
import type { ObservedInstance } from "../plugins/runtime.js";
import type { LeaseFence } from "../plugins/store.js";
import { transportOf, upstreamHeaders } from "./connection.js";
import type { EngineContext } from "./context.js";
import type { HealthProbe, ProbeTarget } from "./fleet-types.js";
import { httpProbe } from "./http-probe.js";
import { changeStatus } from "./instance-writer.js";

const PROBED = new Set(["starting", "running", "unhealthy"]);

interface Loop {
  key: string;
  ctrl: AbortController;
}

/** The monitor stopped probing an instance and hands it back to the reconciler. */
export interface ProbeGaveUp {
  id: string;
  /** The spec the probes ran against (a newer spec means the report is stale). */
  specHash: string;
  /**
   * `readiness`: not ready within `startTimeoutMs` of deploy (the start-timeout rule: a crash).
   * `liveness`: `retries * 2` consecutive failed probes while running or unhealthy.
   */
  during: "readiness" | "liveness";
  reason: string;
}

/**
 * Probes instances: readiness right after deploy by fast backoff polling (first probe at once, then
 * 10 ms doubling to 1 s) and liveness every `interval` after that. `retries` consecutive failures
 * move `running -> unhealthy`; a success moves back; twice that many, or readiness not reached
 * within `startTimeoutMs`, calls `onGaveUp` (the reconciler applies the restart policy). Instances
 * without a probe (no HTTP endpoint, no applicable probe) are ready as soon as their runtime
 * reports them running.
 */
export class HealthMonitor {
  private readonly loops = new Map<string, Loop>();
  private readonly http = httpProbe();
  private stopped = false;

  constructor(
    private readonly ctx: EngineContext,
    private readonly onGaveUp: (gaveUp: ProbeGaveUp) => void,
    /** The lease fence this worker's writes on an instance carry (undefined: unfenced). */
    private readonly fenceOf: (id: string) => LeaseFence | undefined = () => undefined,
  ) {}

  /** Idempotent: (re)starts the probe loop for this instance when its spec or endpoint changed. */
  async ensure(inst: Instance, observed: ObservedInstance, signal: AbortSignal): Promise<void> {
    if (this.stopped || !PROBED.has(inst.status)) return;
    const endpoint = observed.endpoint ?? inst.endpoint ?? "";
    // the bridge token is part of the key (kept in memory only): a new bridge on the same port re-probes
    const key = `${inst.spec_hash}|${endpoint}|${JSON.stringify(observed.endpointHeaders ?? {})}`;
    if (this.loops.get(inst.id)?.key === key) return;
    this.forget(inst.id);
    if (!/^https?:\/\//.test(endpoint)) return this.markReady(inst.id, inst);
    // registered before the first await, so a concurrent ensure() for the same key is a no-op
    const ctrl = new AbortController();
    const loop = { key, ctrl };
    this.loops.set(inst.id, loop);
    const spec = this.ctx.specs.parse(inst.json_spec);
    let target: ProbeTarget;
    try {
      target = {
        instance: inst,
        spec,
        endpoint,
        transport: transportOf(spec, observed.transport),
        headers: { ...(await upstreamHeaders(this.ctx, spec, signal)), ...(observed.endpointHeaders ?? {}) },
        external: isUrlSpec(spec),
        policy: this.ctx.settings.endpointPolicy,
      };
    } catch (err) {
      if (this.loops.get(inst.id) === loop) this.loops.delete(inst.id);
      throw err;
    }
    const probe = this.probeFor(target);
    if (!probe) {
      if (this.loops.get(inst.id) === loop) this.loops.delete(inst.id);
      return this.markReady(inst.id, inst);
    }
    if (ctrl.signal.aborted) return;
    void this.run(inst.id, target, probe, ctrl.signal)
      .catch((err) => {
        if (!ctrl.signal.aborted)
          this.ctx.logger.warn({ instanceId: inst.id, err: toFleetError(err).toJSON() }, "health loop ended");
      })
      .finally(() => {
        if (this.loops.get(inst.id) === loop) this.loops.delete(inst.id);
      });
  }

  probeFor(target: ProbeTarget): HealthProbe | undefined {
    if (this.http.appliesTo(target)) return this.http;
    return this.ctx.probes.find((p) => p.appliesTo(target));
  }

  forget(id: string): void {
    this.loops.get(id)?.ctrl.abort();
    this.loops.delete(id);
  }

  stop(): void {
    this.stopped = true;
    for (const l of this.loops.values()) l.ctrl.abort();
    this.loops.clear();
  }

  get tracked(): number {
    return this.loops.size;
  }

  /** `known`: the document as the caller has it (written just now); the write re-reads when it is stale. */
  private async markReady(id: string, known?: Instance): Promise<void> {
    await changeStatus(
      this.ctx,
      id,
      "ready",
      { status_reason: null },
      (c) => c.status === "starting" || c.status === "unhealthy",
      this.fenceOf(id),
      known,
    );
  }

  private async run(id: string, target: ProbeTarget, probe: HealthProbe, signal: AbortSignal): Promise<void> {
    const { settings } = this.ctx;
    const hc = target.spec.healthCheck;
    const intervalMs = hc?.intervalMs ?? settings.healthIntervalMs;
    const timeoutMs = hc?.timeoutMs ?? settings.healthTimeoutMs;
    const retries = Math.max(1, hc?.retries ?? settings.healthRetries);
    /** One probe call, bounded by its own timer even if the probe ignores the timeout. */
    const check = async (): Promise<{ ok: boolean; reason?: string }> => {
      const ctrl = new AbortController();
      const onAbort = () => ctrl.abort();
      signal.addEventListener("abort", onAbort, { once: true });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<{ ok: boolean; reason: string }>((resolve) => {
        timer = setTimeout(() => {
          ctrl.abort();
          resolve({ ok: false, reason: `probe ${probe.name} timed out after ${timeoutMs} ms` });
        }, timeoutMs + 50);
      });
      try {
        return await Promise.race([probe.check(target, { signal: ctrl.signal, timeoutMs }), expired]);
      } catch (err) {
        return { ok: false, reason: toFleetError(err).message };
      } finally {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      }
    };

    // readiness: fast backoff polling
    let inst = await this.ctx.store.instances.get(id);
    if (inst?.status === "starting") {
      const deadline = Date.now() + settings.startTimeoutMs;
      let delay = 10;
      let last = "";
      for (;;) {
        if (signal.aborted) return;
        const r = await check();
        if (signal.aborted) return;
        if (r.ok) break;
        last = r.reason ?? "probe failed";
        if (Date.now() > deadline) {
          const reason = `not ready after ${settings.startTimeoutMs} ms: ${last}`;
          this.onGaveUp({ id, specHash: target.instance.spec_hash, during: "readiness", reason });
          return;
        }
        await pause(delay, signal);
        delay = Math.min(delay * 2, 1000);
      }
      await this.markReady(id);
    }

    // liveness
    let failures = 0;
    for (;;) {
      await pause(intervalMs, signal);
      if (signal.aborted) return;
      inst = await this.ctx.store.instances.get(id);
      if (!inst || inst.spec_hash !== target.instance.spec_hash || !PROBED.has(inst.status)) return;
      const r = await check();
      if (signal.aborted) return;
      if (r.ok) {
        failures = 0;
        if (inst.status === "unhealthy" || inst.status === "starting") await this.markReady(id);
        continue;
      }
      failures += 1;
      const reason = r.reason ?? "probe failed";
      if (failures === retries && inst.status === "running") {
        await changeStatus(
          this.ctx,
          id,
          "probe_failed",
          { status_reason: reason },
          (c) => c.status === "running",
          this.fenceOf(id),
        );
      }
      if (failures >= retries * 2) {
        failures = 0;
        this.onGaveUp({ id, specHash: target.instance.spec_hash, during: "liveness", reason });
        return;
      }
    }
  }
}
