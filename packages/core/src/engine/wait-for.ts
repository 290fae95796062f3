import { FleetError } from "../errors.js";
import type { Instance, InstanceStatus } from "../model/types.js";
import type { EngineContext } from "./context.js";
import type { EventHub } from "./event-hub.js";
import type { WaitForOptions } from "./fleet-types.js";

/**
 * Resolves when the instance reaches one of `wanted`. Listens to status events and re-reads the
 * store (so changes made by other processes count too). Reaching `failed` (when not wanted) rejects
 * with the status reason; so does the instance disappearing.
 */
export function waitForStatus(
  ctx: EngineContext,
  hub: EventHub,
  id: string,
  wanted: InstanceStatus[],
  options: WaitForOptions = {},
): Promise<Instance> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise<Instance>((resolve, reject) => {
    let done = false;
    let checking = false;
    let again = false;
    const finish = (err: unknown, inst?: Instance) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(poll);
      unsubscribe();
      options.signal?.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve(inst!);
    };
    const check = async () => {
      if (done) return;
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      try {
        const inst = await ctx.store.instances.get(id);
        if (!inst) {
          if (wanted.includes("deleted")) finish(undefined, undefined as unknown as Instance);
          else finish(new FleetError("NOT_FOUND", `instance ${id} not found`, { path: "id", isRetryable: false }));
        } else if (wanted.includes(inst.status)) finish(undefined, inst);
        else if (inst.status === "failed" && inst.observed_generation === inst.generation) {
          finish(
            new FleetError("DEPLOY_FAILED", `instance ${inst.name} failed: ${inst.status_reason ?? "unknown reason"}`, {
              path: "status",
              isRetryable: false,
              details: { instanceId: id, status: inst.status },
            }),
          );
        }
      } catch (err) {
        finish(err);
      } finally {
        checking = false;
        if (again && !done) {
          again = false;
          void check();
        }
      }
    };
    const onAbort = () => finish(new FleetError("ABORTED", "waitFor aborted", { cause: options.signal?.reason }));
    const timer = setTimeout(async () => {
      const inst = await ctx.store.instances.get(id).catch(() => undefined);
      finish(
        new FleetError(
          "TIMEOUT",
          `instance ${id} did not reach ${wanted.join("|")} within ${timeoutMs} ms (status ${inst?.status ?? "gone"}${inst?.status_reason ? `: ${inst.status_reason}` : ""})`,
          {
            path: "status",
          },
        ),
      );
    }, timeoutMs);
    const poll = setInterval(() => void check(), 250);
    poll.unref?.();
    const unsubscribe = hub.subscribe((event) => {
      if (event.subject === id && event.type === "MCPServerInstanceStatusChanged") void check();
    });
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    void check();
  });
}
