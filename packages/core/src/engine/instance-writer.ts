import { FleetError } from "../errors.js";
import { type LifecycleEvent, transition } from "../lifecycle/transition.js";
import type { Instance, InstanceStatus } from "../model/types.js";
import type { LeaseFence } from "../plugins/store.js";
import type { EngineContext } from "./context.js";

const MAX_ATTEMPTS = 20;

/**
 * Read-modify-write with optimistic concurrency: `fn` gets the current document and returns the
 * next one (or `undefined` for "no change"); a CONFLICT re-reads and tries again. With a `fence`
 * (the writer's lease), a write after the lease was taken over throws `FENCED` and changes nothing.
 * `known` is a revision the caller read or wrote just now: the first attempt writes on it without
 * reading again (its revision check proves it current); when it is stale (CONFLICT) or `fn` makes no
 * change on it, the document is read as usual.
 */
export async function mutateInstance(
  ctx: EngineContext,
  id: string,
  fn: (current: Instance) => Instance | undefined,
  fence?: LeaseFence,
  known?: Instance,
): Promise<{ before: Instance; after: Instance; changed: boolean } | undefined> {
  let hint = known?.id === id ? known : undefined;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let current = hint;
    let next: Instance | undefined;
    try {
      next = current && fn(current);
    } catch {
      next = undefined; // judged again on the stored document
    }
    hint = undefined;
    if (!next) {
      current = await ctx.store.instances.get(id);
      if (!current) return undefined;
      next = fn(current);
    }
    if (!current) return undefined;
    if (!next) return { before: current, after: current, changed: false };
    try {
      const after = await ctx.store.instances.update(
        {
          ...next,
          revision: current.revision,
          updated_at: new Date().toISOString(),
        },
        fence ? { fence } : undefined,
      );
      return { before: current, after, changed: true };
    } catch (err) {
      if (FleetError.isInstance(err) && err.code === "CONFLICT") continue;
      throw err;
    }
  }
  throw new FleetError("CONFLICT", `instance ${id}: too many concurrent writers`, { path: "revision" });
}

/** The data of every instance event (created, updated, deleted): which instance, at which spec. */
export function instanceEventData(inst: Instance) {
  return {
    instance_id: inst.id,
    server_spec_id: inst.server_spec_id ?? null,
    name: inst.name,
    generation: inst.generation,
    json_spec: inst.json_spec,
  };
}

export function statusEventData(inst: Instance, previous?: InstanceStatus) {
  return {
    ...instanceEventData(inst),
    status: inst.status,
    ...(previous ? { previous_status: previous } : {}),
    status_reason: inst.status_reason ?? null,
  };
}

/**
 * Moves an instance through `transition` (illegal moves throw INVALID_TRANSITION), writes it and
 * publishes `MCPServerInstanceStatusChanged` when the status changed. `guard` re-checks a
 * precondition on the fresh document (after every CONFLICT re-read too); when it refuses, nothing is
 * written and the result is `undefined`.
 */
export async function changeStatus(
  ctx: EngineContext,
  id: string,
  events: LifecycleEvent | LifecycleEvent[],
  patch: Partial<Instance> = {},
  guard?: (current: Instance) => boolean,
  fence?: LeaseFence,
  known?: Instance,
): Promise<Instance | undefined> {
  const steps = Array.isArray(events) ? events : [events];
  const result = await mutateInstance(
    ctx,
    id,
    (cur) => {
      if (guard && !guard(cur)) return undefined;
      let status = cur.status;
      for (const e of steps) status = transition(status, e);
      return { ...cur, ...patch, status };
    },
    fence,
    known,
  );
  if (!result?.changed) return undefined;
  const { before, after } = result;
  if (before.status !== after.status) {
    ctx.logger.debug(
      { instanceId: id, from: before.status, to: after.status, reason: after.status_reason ?? undefined },
      "instance status changed",
    );
    await ctx.publish("MCPServerInstanceStatusChanged", id, statusEventData(after, before.status));
  }
  return after;
}
