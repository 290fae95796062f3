import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { AccessPolicy } from "@mcpfleet/mcp";
import { z } from "zod";

export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** viewer < operator < admin. */
export function roleAllows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export interface Principal {
  /** Key id (never the key) or token subject. */
  id: string;
  role: Role;
  /** What limits this principal on the MCP routes (managed keys and token bindings). */
  policy?: AccessPolicy;
  /** How refusals and audit lines name the policy. */
  policyName?: string;
}

interface StoredKey extends Principal {
  /** sha256 of the key. API keys are 256-bit random tokens, so a fast hash is enough (no dictionary to attack). */
  hash: Buffer;
}

const fileSchema = z.object({
  keys: z.array(
    z.object({
      id: z.string().min(1).max(100),
      role: z.enum(ROLES),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 hex characters"),
    }),
  ),
});
export type KeysFile = z.infer<typeof fileSchema>;

export const hashKey = (key: string): Buffer => createHash("sha256").update(key, "utf8").digest();

export function generateKey(): string {
  return `mcpf_${randomBytes(32).toString("base64url")}`;
}

/**
 * The key ring: keys held only as hashes; `verify` compares against every key in constant time
 * per key, so timing tells nothing about which key (or which prefix) matched.
 */
export class KeyRing {
  private readonly keys: StoredKey[];
  constructor(keys: Array<Principal & { hash: Buffer }>) {
    this.keys = keys.map((k) => ({ ...k }));
  }
  get size(): number {
    return this.keys.length;
  }
  verify(presented: string): Principal | undefined {
    const h = hashKey(presented);
    let found: StoredKey | undefined;
    for (const k of this.keys) if (timingSafeEqual(k.hash, h) && !found) found = k;
    return found ? { id: found.id, role: found.role } : undefined;
  }
  toFile(): KeysFile {
    return { keys: this.keys.map((k) => ({ id: k.id, role: k.role, sha256: k.hash.toString("hex") })) };
  }
}

/**
 * `API_KEYS`: comma-separated `id:role:key` entries (`ci:admin:mcpf_...`), or `id:role:sha256:<hex>`
 * to give only the hash. Throws naming the entry (by position and id, never the key).
 */
export function parseApiKeys(value: string): KeyRing {
  const keys: Array<Principal & { hash: Buffer }> = [];
  const entries = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  entries.forEach((entry, i) => {
    const [id, role, ...rest] = entry.split(":");
    const secret = rest.join(":");
    const where = `API_KEYS entry ${i + 1}${id ? ` (${id})` : ""}`;
    if (!id || !role || !secret) throw new Error(`${where}: must be id:role:key`);
    if (!(ROLES as readonly string[]).includes(role))
      throw new Error(`${where}: role must be viewer, operator or admin`);
    if (keys.some((k) => k.id === id)) throw new Error(`${where}: duplicate id`);
    let hash: Buffer;
    if (secret.startsWith("sha256:")) {
      const hex = secret.slice("sha256:".length);
      if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${where}: sha256 must be 64 hex characters`);
      hash = Buffer.from(hex, "hex");
    } else {
      if (secret.length < 16) throw new Error(`${where}: key must be at least 16 characters`);
      hash = hashKey(secret);
    }
    keys.push({ id, role: role as Role, hash });
  });
  if (keys.length === 0) throw new Error("API_KEYS is set but holds no key");
  return new KeyRing(keys);
}

export async function readKeysFile(path: string): Promise<KeyRing | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const parsed = fileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new Error(`keys file ${path}: ${i.path.join(".")}: ${i.message}`);
  }
  return new KeyRing(parsed.data.keys.map((k) => ({ id: k.id, role: k.role, hash: Buffer.from(k.sha256, "hex") })));
}

/** Creates the keys file with one admin key; returns the key (shown once) and the ring. */
export async function createFirstAdminKey(path: string): Promise<{ key: string; ring: KeyRing }> {
  const key = generateKey();
  const ring = new KeyRing([{ id: "admin", role: "admin", hash: hashKey(key) }]);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(ring.toFile(), null, 2)}\n`, { mode: 0o600, flag: "wx" });
  return { key, ring };
}
