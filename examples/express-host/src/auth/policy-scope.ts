import type { Fleet } from "@mcpfleet/core";
import { FleetError } from "@mcpfleet/core";
import { instanceDecision, instanceFacts } from "@mcpfleet/mcp";
import type { Operation } from "../http/operation.js";
import type { Principal } from "./keys.js";

type InstanceLike = Parameters<typeof instanceFacts>[0];

export const permits = (p: Principal, inst: InstanceLike): boolean =>
  !p.policy?.instances || instanceDecision(p.policy, instanceFacts(inst)).allowed;

const refused = (p: Principal, name: string, path: string) =>
  new FleetError("FORBIDDEN", `policy "${p.policyName ?? p.policy?.name ?? p.id}" refuses instance ${name}`, { path });

/** An instance as it would be stored (a create's or an update's body), for the policy's instance limit. */
export interface ProposedInstance {
  name: string;
  server_spec_id?: string | null | undefined;
  json_spec?: unknown;
}

/**
 * Refuses (403 naming the policy) an instance the principal's policy does not reach: one it would
 * create or an update's result, so no route makes or renames an instance outside the limit.
 */
export function assertPermits(p: Principal, inst: ProposedInstance, path = "name"): void {
  if (!p.policy?.instances) return;
  const facts = {
    id: "",
    name: inst.name,
    server_spec_id: inst.server_spec_id ?? null,
    json_spec: (typeof inst.json_spec === "object" && inst.json_spec !== null ? inst.json_spec : {}) as never,
  };
  if (!permits(p, facts)) throw refused(p, inst.name, path);
}

/** Refuses (403) an existing instance outside the principal's policy; returns it otherwise. */
export function assertPermitted<T extends InstanceLike>(p: Principal, inst: T, path = "id"): T {
  if (!permits(p, inst)) throw refused(p, inst.name, path);
  return inst;
}

/**
 * Whether a policy-limited principal may see an event: decided from the instance it is about (looked
 * up once per instance and remembered for the stream); events of instances that cannot be read
 * (gone, or no instance named) are not shown to such a principal.
 */
export function eventVisibility(
  fleet: Fleet,
  p: Principal,
): ((instanceId: string | undefined) => Promise<boolean>) | undefined {
  if (!p.policy?.instances) return undefined;
  const seen = new Map<string, Promise<boolean>>();
  return (id) => {
    if (!id) return Promise.resolve(false);
    let v = seen.get(id);
    if (!v) {
      v = fleet.instances.get(id).then(
        (inst) => permits(p, inst),
        () => false,
      );
      seen.set(id, v);
    }
    return v;
  };
}

/**
 * A policy's instance limit on the REST instance operations too (as on `/mcp/<instance>` and
 * `/control/mcp`): per-instance operations of an instance outside it are 403, the list shows only
 * its instances (without a total count, which would tell how many others exist), and an update that
 * would move an instance outside it is refused. Creates are checked in `createInstanceAs`, the one
 * place every creating route goes through.
 */
export function scopeInstanceOperations(fleet: Fleet, ops: Operation[]): Operation[] {
  return ops.map((op): Operation => {
    if (op.path.includes("/:id")) {
      return {
        ...op,
        handler: async (ctx) => {
          if (ctx.principal.policy?.instances) {
            const inst = assertPermitted(
              ctx.principal,
              await fleet.instances.get(ctx.params.id!, { signal: ctx.signal }),
            );
            // an update must leave the instance inside the limit (a rename, new labels or server)
            if (op.method === "patch" || op.method === "put") {
              const b = (ctx.body ?? {}) as { name?: unknown; json_spec?: unknown };
              assertPermits(ctx.principal, {
                name: typeof b.name === "string" ? b.name : inst.name,
                server_spec_id: inst.server_spec_id,
                json_spec: typeof b.json_spec === "object" && b.json_spec !== null ? b.json_spec : inst.json_spec,
              });
            }
          }
          return op.handler(ctx);
        },
      };
    }
    if (op.method === "get") {
      return {
        ...op,
        handler: async (ctx) => {
          const result = await op.handler(ctx);
          if (!ctx.principal.policy?.instances || !Array.isArray(result)) return result;
          ctx.res.removeHeader("X-Total-Count");
          return result.filter((i: InstanceLike) => permits(ctx.principal, i));
        },
      };
    }
    return op;
  });
}
