import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

export const ip = (...args: string[]) => run("ip", args).then((r) => r.stdout);

/** True when this process may create network namespaces, else why not (the test skips with it). */
export async function netnsSupport(): Promise<true | string> {
  const probe = `mfp${randomBytes(4).toString("hex")}`;
  try {
    await ip("netns", "add", probe);
  } catch (err) {
    return `ip netns unavailable: ${(err as Error).message.split("\n")[0]}`;
  }
  await ip("netns", "del", probe).catch(() => {});
  return true;
}

export interface Network {
  /** The root namespace's address on the test bridge (PostgreSQL and Redis listen there). */
  gateway: string;
  /** Each host's namespace name and address. */
  hosts: Record<string, { ns: string; addr: string }>;
  /** Removes every namespace, veth and the bridge (idempotent). */
  remove(): Promise<void>;
}

/**
 * Separate network hosts: one namespace per host, each with a veth pair whose root end is on a test
 * bridge; addresses from a random 10.x.y.0/24 that only these veths and the bridge carry. Names are
 * unique per run; `remove` deletes all of it (also after a failure half-way).
 */
export async function makeNetwork(names: string[]): Promise<Network> {
  const id = randomBytes(3).toString("hex");
  const net = `10.${100 + (randomBytes(1)[0]! % 100)}.${randomBytes(1)[0]!}`;
  const bridge = `mfb${id}`;
  const hosts: Network["hosts"] = {};
  const created: string[] = [];
  const remove = async () => {
    for (const ns of created) await ip("netns", "del", ns).catch(() => {});
    await ip("link", "del", bridge).catch(() => {});
    created.length = 0;
  };
  try {
    await ip("link", "add", bridge, "type", "bridge");
    await ip("addr", "add", `${net}.1/24`, "dev", bridge);
    await ip("link", "set", bridge, "up");
    for (const [i, name] of names.entries()) {
      const ns = `mf${id}-${name}`;
      const addr = `${net}.${i + 2}`;
      await ip("netns", "add", ns);
      created.push(ns);
      const outer = `mf${id}o${i}`;
      const inner = `mf${id}i${i}`;
      await ip("link", "add", outer, "type", "veth", "peer", "name", inner);
      await ip("link", "set", inner, "netns", ns);
      await ip("link", "set", outer, "master", bridge);
      await ip("link", "set", outer, "up");
      await ip("-n", ns, "addr", "add", `${addr}/24`, "dev", inner);
      await ip("-n", ns, "link", "set", inner, "up");
      await ip("-n", ns, "link", "set", "lo", "up");
      await ip("-n", ns, "route", "add", "default", "via", `${net}.1`);
      hosts[name] = { ns, addr };
    }
  } catch (err) {
    await remove();
    throw err;
  }
  return { gateway: `${net}.1`, hosts, remove };
}

/** Runs a command to completion (for initdb / pg_ctl). */
export function sh(cmd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => {
      out += d;
    });
    p.stderr.on("data", (d) => {
      out += d;
    });
    p.on("error", reject);
    p.on("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out.slice(-2000)}`)),
    );
  });
}
