import { createHmac, randomBytes } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Fleet, FleetError } from "@mcpfleet/core";
import type { Desired } from "./config-file.js";

/** What `up` started, by instance name, with a keyed fingerprint of what the file said (never a secret value). */
interface UpState {
  salt: string;
  instances: Record<string, { id: string; fingerprint: string }>;
}

export type Action = "created" | "updated" | "unchanged" | "removed";

export interface Applied {
  name: string;
  id: string;
  action: Action;
}

const stable = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(stable).join(",")}]`
    : typeof v === "object" && v !== null
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
          .join(",")}}`
      : JSON.stringify(v);

async function loadState(path: string): Promise<UpState> {
  try {
    const s = JSON.parse(await readFile(path, "utf8")) as UpState;
    if (typeof s.salt === "string" && typeof s.instances === "object" && s.instances) return s;
  } catch {
    // first run (or an unreadable state): everything in the file is new
  }
  return { salt: randomBytes(32).toString("hex"), instances: {} };
}

async function saveState(path: string, state: UpState): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
  await rename(tmp, path);
}

const fingerprint = (salt: string, d: Desired) =>
  createHmac("sha256", salt)
    .update(stable({ json_spec: d.json_spec, secrets: d.secrets, start: d.start, description: d.description ?? null }))
    .digest("hex");

async function existing(fleet: Fleet, idOrName: string) {
  try {
    return await fleet.instances.get(idOrName);
  } catch (err) {
    if (FleetError.isInstance(err) && err.code === "NOT_FOUND") return undefined;
    throw err;
  }
}

/**
 * Converges the embedded fleet on the file: new names are created, changed ones updated (a new
 * generation, so only they are redeployed), ones `up` started before and the file no longer names
 * are deleted; the rest is left alone. Returns what was done, in file order then removals.
 */
export async function applyDesired(fleet: Fleet, dataDir: string, desired: Desired[]): Promise<Applied[]> {
  const path = join(dataDir, "up-state.json");
  const state = await loadState(path);
  const out: Applied[] = [];
  const next: UpState = { salt: state.salt, instances: {} };
  for (const d of desired) {
    const fp = fingerprint(state.salt, d);
    const known = state.instances[d.name];
    const current = await existing(fleet, known?.id ?? d.name);
    let action: Action;
    let id: string;
    if (!current) {
      const created = await fleet.instances.create({
        name: d.name,
        json_spec: d.json_spec,
        ...(Object.keys(d.secrets).length > 0 ? { secrets: d.secrets } : {}),
        ...(d.description ? { description: d.description } : {}),
        start: d.start,
      });
      action = "created";
      id = created.id;
    } else if (known?.fingerprint === fp) {
      action = "unchanged";
      id = current.id;
    } else {
      await fleet.instances.update(current.id, {
        json_spec: d.json_spec,
        ...(Object.keys(d.secrets).length > 0 ? { secrets: d.secrets } : {}),
        ...(d.description ? { description: d.description } : {}),
      });
      action = "updated";
      id = current.id;
    }
    const now = await fleet.instances.get(id);
    if (d.start && (now.desired_state !== "running" || now.status === "failed")) await fleet.instances.start(id);
    if (!d.start && now.desired_state === "running") await fleet.instances.stop(id);
    next.instances[d.name] = { id, fingerprint: fp };
    out.push({ name: d.name, id, action });
    // saved as it goes: an interrupted run still knows what it created
    await saveState(path, { salt: state.salt, instances: { ...state.instances, ...next.instances } });
  }
  for (const [name, { id }] of Object.entries(state.instances)) {
    if (next.instances[name]) continue;
    if (await existing(fleet, id)) {
      await fleet.instances.delete(id);
      out.push({ name, id, action: "removed" });
    }
  }
  await saveState(path, next);
  return out;
}
