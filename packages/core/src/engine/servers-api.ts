import { randomUUID } from "node:crypto";
import { FleetError } from "../errors.js";
import type { ServerDefinition } from "../model/types.js";
import { parseServerDefinition } from "../spec/index.js";
import type { EngineContext } from "./context.js";
import type { ServersApi } from "./fleet-types.js";

export function serversApi(ctx: EngineContext): ServersApi {
  const get = async (id: string, o?: { signal?: AbortSignal }) => {
    const doc = typeof id === "string" ? await ctx.store.servers.get(id, o) : undefined;
    if (!doc)
      throw new FleetError("NOT_FOUND", `server ${String(id)} not found`, {
        path: "server_spec_id",
        isRetryable: false,
      });
    return doc;
  };
  const nameTaken = async (name: string, exceptId?: string) => {
    const repo = ctx.store.servers;
    const found = repo.findByName ? await repo.findByName(name) : (await repo.list()).filter((s) => s.name === name);
    return found.some((s) => s.id !== exceptId);
  };

  return {
    async register(def, o) {
      const parsed = parseServerDefinition(def);
      if (await nameTaken(parsed.name)) {
        throw new FleetError("ALREADY_EXISTS", `a server named ${parsed.name} is already registered`, { path: "name" });
      }
      const now = new Date().toISOString();
      const doc = await ctx.store.servers.create(
        {
          ...parsed,
          id: parsed.id ?? randomUUID(),
          created_at: now,
          updated_at: now,
        } as Omit<ServerDefinition, "revision">,
        o,
      );
      await ctx.publish("MCPServerRegistered", doc.id, { server_spec_id: doc.id, name: doc.name });
      return doc;
    },
    get,
    list: (o) => ctx.store.servers.list(o),
    async update(id, patch, o) {
      const current = await get(id, o);
      if (patch.revision !== undefined && patch.revision !== current.revision) {
        throw new FleetError("CONFLICT", `server ${id} was changed concurrently`, { path: "revision" });
      }
      const { revision: _r, ...rest } = patch;
      const merged = parseServerDefinition({ ...stripMeta(current), ...rest, id: current.id });
      if (merged.name !== current.name && (await nameTaken(merged.name, id))) {
        throw new FleetError("ALREADY_EXISTS", `a server named ${merged.name} is already registered`, { path: "name" });
      }
      return ctx.store.servers.update(
        { ...current, ...merged, id: current.id, updated_at: new Date().toISOString() },
        o,
      );
    },
    async delete(id, o) {
      await get(id, o);
      const users = (await ctx.store.instances.list(o)).filter(
        (i) => i.server_spec_id === id && i.desired_state !== "deleted",
      );
      if (users.length > 0) {
        throw new FleetError(
          "IN_USE",
          `server ${id} is used by ${users.length} instance(s): ${users
            .slice(0, 5)
            .map((i) => i.name)
            .join(", ")}`,
          {
            path: "server_spec_id",
            isRetryable: false,
            details: { instances: users.map((i) => i.id) },
          },
        );
      }
      await ctx.store.servers.delete(id, o);
      await ctx.publish("MCPServerDeleted", id, { server_spec_id: id });
    },
  };
}

function stripMeta(s: ServerDefinition): Record<string, unknown> {
  const { revision: _r, created_at: _c, updated_at: _u, ...rest } = s;
  return rest;
}
