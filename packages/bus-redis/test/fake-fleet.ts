import { randomUUID } from "node:crypto";
import { type CreateInstanceInput, FleetError, type FleetEvent, type Instance } from "@mcpfleet/core";
import type { LegacyFleet } from "../src/index.js";

/** The few Fleet methods the legacy source uses, over a Map; records every call. */
export function fakeFleet() {
  const instances = new Map<string, Instance>();
  const listeners = new Set<(e: FleetEvent) => void>();
  const calls: { method: string; arg: unknown }[] = [];
  const find = (idOrName: string) =>
    instances.get(idOrName) ?? [...instances.values()].find((i) => i.name === idOrName);
  const fleet: LegacyFleet = {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    instances: {
      async get(idOrName) {
        calls.push({ method: "get", arg: idOrName });
        const i = find(idOrName);
        if (!i) throw new FleetError("NOT_FOUND", `instance ${idOrName} not found`);
        return i;
      },
      async list() {
        calls.push({ method: "list", arg: undefined });
        return [...instances.values()];
      },
      async create(input: CreateInstanceInput) {
        calls.push({ method: "create", arg: input });
        if (find(input.name)) throw new FleetError("ALREADY_EXISTS", `instance ${input.name} exists`);
        const now = new Date().toISOString();
        const inst = {
          id: randomUUID(),
          name: input.name,
          description: input.description ?? "",
          server_spec_id: input.server_spec_id ?? null,
          json_spec: input.json_spec as Record<string, unknown>,
          status: "pending",
          created_at: now,
          updated_at: now,
        } as unknown as Instance;
        instances.set(inst.id, inst);
        return inst;
      },
      async delete(id) {
        calls.push({ method: "delete", arg: id });
        const i = instances.get(id);
        if (!i) throw new FleetError("NOT_FOUND", `instance ${id} not found`);
        instances.delete(id);
        return i;
      },
    },
  };
  return {
    fleet,
    instances,
    calls,
    emit: (e: FleetEvent) => {
      for (const l of listeners) l(e);
    },
  };
}
