import { randomUUID } from "node:crypto";
import { FleetError, specInvalid } from "../errors.js";
import type { Instance, InstanceStatus } from "../model/types.js";
import type { LogLine } from "../plugins/runtime.js";
import { parseSecretScopes } from "../secrets/index.js";
import { queryDocuments } from "../store/query.js";
import type { EngineContext } from "./context.js";
import { envSchemaOf, secretScopesOf } from "./deploy-request.js";
import type { EventHub } from "./event-hub.js";
import type { InstancesApi } from "./fleet-types.js";
import { checkHostPaths } from "./host-paths.js";
import { instanceEventData, mutateInstance } from "./instance-writer.js";
import { checkReplicas, withDefaultImage } from "./runtime-checks.js";
import { checkName, type PreparedSpec, prepareSpec } from "./spec-input.js";
import { specTypeOf } from "./spec-type.js";
import { waitForStatus } from "./wait-for.js";

export function instancesApi(ctx: EngineContext, hub: EventHub): InstancesApi {
  const named = async (name: string, signal?: AbortSignal): Promise<Instance[]> => {
    const repo = ctx.store.instances;
    const found = repo.findByName
      ? await repo.findByName(name, { signal })
      : (await repo.list({ signal })).filter((i) => i.name === name);
    return found.filter((i) => i.desired_state !== "deleted");
  };

  const find = async (idOrName: string, signal?: AbortSignal): Promise<Instance> => {
    if (typeof idOrName !== "string" || idOrName === "") {
      throw new FleetError("NOT_FOUND", "instance id must be a non-empty string", { path: "id", isRetryable: false });
    }
    const byId = await ctx.store.instances.get(idOrName, { signal });
    if (byId) return byId;
    const byName = (await named(idOrName, signal))[0];
    if (byName) return byName;
    throw new FleetError("NOT_FOUND", `instance ${idOrName} not found`, { path: "id", isRetryable: false });
  };

  const nameTaken = async (name: string, exceptId?: string) => (await named(name)).some((i) => i.id !== exceptId);

  const writeSecrets = async (prepared: PreparedSpec, signal?: AbortSignal) => {
    for (const w of prepared.writes) await ctx.secrets.set(w.ref, w.value, { signal });
  };

  /** Desired-state change: bump generation, write, publish Updated. */
  const desire = async (
    id: string,
    fn: (c: Instance) => Instance,
    signal?: AbortSignal,
    type: "MCPServerInstanceUpdated" | "MCPServerInstanceDeleted" = "MCPServerInstanceUpdated",
  ): Promise<Instance> => {
    const inst = await find(id, signal);
    const result = await mutateInstance(ctx, inst.id, (c) => {
      if (c.desired_state === "deleted") {
        throw new FleetError("NOT_FOUND", `instance ${c.id} is being deleted`, { path: "id", isRetryable: false });
      }
      return { ...fn(c), generation: c.generation + 1 };
    });
    if (!result) throw new FleetError("NOT_FOUND", `instance ${id} not found`, { path: "id", isRetryable: false });
    await ctx.publish(type, result.after.id, instanceEventData(result.after));
    return result.after;
  };

  return {
    async create(input, o) {
      if (typeof input !== "object" || input === null)
        throw specInvalid([{ path: "", message: "must be an object" }], "instance");
      const name = checkName(input.name);
      const id = randomUUID();
      const serverId = input.server_spec_id ?? null;
      if (serverId !== null && (typeof serverId !== "string" || !(await ctx.store.servers.get(serverId)))) {
        throw specInvalid(
          [{ path: "server_spec_id", message: `server ${String(serverId)} is not registered` }],
          "instance",
        );
      }
      const schema = serverId ? await envSchemaOf(ctx, { server_spec_id: serverId }) : undefined;
      const grants = parseSecretScopes(input.secret_scopes, "secret_scopes");
      const jsonSpec = await withDefaultImage(ctx, serverId, input.json_spec, o?.signal);
      const prepared = prepareSpec(
        id,
        jsonSpec,
        input.secrets,
        schema,
        ctx.settings.endpointPolicy,
        ctx.specs,
        await secretScopesOf(ctx, id, { server_spec_id: serverId, ...(grants ? { secret_scopes: grants } : {}) }),
      );
      checkHostPaths(prepared.spec, ctx.settings.allowedHostPaths);
      checkReplicas(prepared.spec, ctx.runtimes.get(specTypeOf(prepared.wire)));
      if (await nameTaken(name))
        throw new FleetError("ALREADY_EXISTS", `an instance named ${name} exists`, { path: "name" });
      await writeSecrets(prepared, o?.signal);
      const now = new Date().toISOString();
      const inst = await ctx.store.instances.create(
        {
          id,
          name,
          ...(typeof input.description === "string" ? { description: input.description } : {}),
          server_spec_id: serverId,
          json_spec: prepared.wire,
          ...(grants ? { secret_scopes: grants } : {}),
          status: "pending",
          status_reason: null,
          desired_state: input.start === false ? "stopped" : "running",
          generation: 1,
          observed_generation: 0,
          spec_hash: prepared.hash,
          endpoint: null,
          observed_by: null,
          restart_count: 0,
          created_at: now,
          updated_at: now,
        },
        o,
      );
      await ctx.publish("MCPServerInstanceCreated", inst.id, instanceEventData(inst));
      return inst;
    },

    get: (idOrName, o) => find(idOrName, o?.signal),

    async list(o) {
      const all = await ctx.store.instances.list(o);
      return all.filter(
        (i) =>
          (o?.status === undefined || i.status === o.status) &&
          (o?.server_spec_id === undefined || i.server_spec_id === o.server_spec_id),
      );
    },

    async page(o) {
      const filter = {
        ...(o.status !== undefined ? { status: o.status } : {}),
        ...(o.server_spec_id !== undefined ? { serverId: o.server_spec_id } : {}),
        ...(o.name_prefix !== undefined ? { namePrefix: o.name_prefix } : {}),
        ...(o.label !== undefined ? { label: o.label } : {}),
      };
      const q = {
        filter,
        limit: o.limit ?? 100,
        ...(o.cursor !== undefined ? { cursor: o.cursor } : {}),
        ...(o.count ? { count: true } : {}),
      };
      const repo = ctx.store.instances;
      if (repo.query) return repo.query(q, { signal: o.signal });
      return queryDocuments(await repo.list({ signal: o.signal }), q);
    },

    async update(id, input, o) {
      const current = await find(id, o?.signal);
      if (input.revision !== undefined && input.revision !== current.revision) {
        throw new FleetError(
          "CONFLICT",
          `instance ${id} was changed concurrently (revision ${input.revision}, stored ${current.revision})`,
          {
            path: "revision",
          },
        );
      }
      const name = input.name === undefined ? current.name : checkName(input.name);
      if (name !== current.name && (await nameTaken(name, current.id))) {
        throw new FleetError("ALREADY_EXISTS", `an instance named ${name} exists`, { path: "name" });
      }
      let prepared: PreparedSpec | undefined;
      const grants =
        input.secret_scopes === undefined
          ? current.secret_scopes
          : parseSecretScopes(input.secret_scopes, "secret_scopes");
      if (input.json_spec !== undefined || input.secrets !== undefined || input.secret_scopes !== undefined) {
        const schema = await envSchemaOf(ctx, current);
        prepared = prepareSpec(
          current.id,
          input.json_spec === undefined
            ? current.json_spec
            : await withDefaultImage(ctx, current.server_spec_id, input.json_spec, o?.signal),
          input.secrets,
          schema,
          ctx.settings.endpointPolicy,
          ctx.specs,
          await secretScopesOf(ctx, current.id, { ...current, ...(grants ? { secret_scopes: grants } : {}) }),
        );
        checkHostPaths(prepared.spec, ctx.settings.allowedHostPaths);
        checkReplicas(prepared.spec, ctx.runtimes.get(specTypeOf(prepared.wire)));
        if (specTypeOf(prepared.wire) !== specTypeOf(current.json_spec)) {
          throw specInvalid(
            [{ path: "json_spec.type", message: "cannot change the spec type of an instance; create a new one" }],
            "instance",
          );
        }
        await writeSecrets(prepared, o?.signal);
      }
      const specChanged = prepared !== undefined && prepared.hash !== current.spec_hash;
      const result = await mutateInstance(ctx, current.id, (c) => {
        if (input.revision !== undefined && c.revision !== input.revision) {
          throw new FleetError("CONFLICT", `instance ${id} was changed concurrently`, { path: "revision" });
        }
        return {
          ...c,
          name,
          ...(input.description !== undefined ? { description: input.description } : {}),
          ...(prepared ? { json_spec: prepared.wire, spec_hash: prepared.hash } : {}),
          ...(input.secret_scopes !== undefined ? { secret_scopes: grants ?? [] } : {}),
          ...(specChanged ? { generation: c.generation + 1, restart_count: 0 } : {}),
        };
      });
      if (!result) throw new FleetError("NOT_FOUND", `instance ${id} not found`, { path: "id" });
      await ctx.publish("MCPServerInstanceUpdated", result.after.id, instanceEventData(result.after));
      return result.after;
    },

    async delete(id, o) {
      return desire(id, (c) => ({ ...c, desired_state: "deleted" }), o?.signal, "MCPServerInstanceDeleted");
    },

    start: (id, o) => desire(id, (c) => ({ ...c, desired_state: "running", restart_count: 0 }), o?.signal),
    stop: (id, o) => desire(id, (c) => ({ ...c, desired_state: "stopped" }), o?.signal),

    logs(id, options = {}): AsyncIterable<LogLine> {
      return (async function* () {
        const inst = await find(id, options.signal);
        const runtime = ctx.runtimes.get(specTypeOf(inst.json_spec));
        if (!runtime)
          throw new FleetError("RUNTIME_UNAVAILABLE", `no runtime for instance ${inst.name}`, {
            path: "json_spec.type",
          });
        yield* runtime.logs(inst.id, options);
      })();
    },

    async waitFor(id, status, options) {
      const inst = await find(id, options?.signal);
      const wanted: InstanceStatus[] = Array.isArray(status) ? status : [status];
      return waitForStatus(ctx, hub, inst.id, wanted, options);
    },
  };
}
