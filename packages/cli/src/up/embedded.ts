import { randomBytes } from "node:crypto";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { processRuntime } from "@mcpfleet/backend-process";
import { createFleet, encryptedFileSecrets, type Fleet, fileStore, type Logger, memoryBus } from "@mcpfleet/core";
import { mcpProbe } from "@mcpfleet/mcp";

export interface EmbeddedOptions {
  dataDir: string;
  logger: Logger;
  /** Process sandbox (backend-process `sandbox`). */
  sandbox: "auto" | "bwrap" | "user" | "none";
  /** Host directories the children may read (the project, the config file's folder, node_modules). */
  readOnlyPaths: string[];
}

export interface Embedded {
  fleet: Fleet;
  close(): Promise<void>;
}

async function ensureKey(path: string): Promise<void> {
  await writeFile(path, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600, flag: "wx" }).catch((err) => {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  });
  await chmod(path, 0o600);
}

/**
 * The fleet `mcpfleet up` runs: process and url instances, a file store and encrypted secrets in the
 * data directory (so a re-run knows what it started), an in-process bus, MCP health probes. The data
 * directory is private (0700) and hidden from every child.
 */
export async function embeddedFleet(options: EmbeddedOptions): Promise<Embedded> {
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
  const keyFile = join(dataDir, "secrets.key");
  await ensureKey(keyFile);
  const closers: Array<() => Promise<void>> = [];
  const own = <T extends { close(): Promise<void> }>(p: T): T => {
    closers.unshift(() => p.close());
    return p;
  };
  try {
    const runtime = own(
      processRuntime({
        logger: options.logger.child({ component: "runtime-process" }),
        sandbox: options.sandbox,
        ...(options.sandbox === "none" && process.getuid?.() === 0 ? { allowRoot: true } : {}),
        readOnlyPaths: [...new Set(options.readOnlyPaths.map((p) => resolve(p)))],
        hiddenPaths: [dataDir],
      }),
    );
    const store = own(fileStore({ path: join(dataDir, "store.json") }));
    const secrets = own(encryptedFileSecrets({ path: join(dataDir, "secrets.json"), keyFile }));
    const bus = own(memoryBus());
    const fleet = createFleet({
      runtimes: { process: runtime },
      store,
      secrets,
      bus,
      probes: [mcpProbe()],
      logger: options.logger,
      role: "all",
      // one stable id: a re-run owns what the previous run started
      workerId: "mcpfleet-up",
      // the config is the user's own: its url servers may be on this machine or the local network
      endpointPolicy: { allow: ["loopback", "private"] },
    });
    await fleet.start();
    return {
      fleet,
      async close() {
        await fleet.close();
        for (const c of closers) await c().catch(() => {});
      },
    };
  } catch (err) {
    for (const c of closers) await c().catch(() => {});
    throw err;
  }
}
