import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Fleet, Logger } from "@mcpfleet/core";
import { createApp } from "./app.js";
import { type Assembled, assembleFleet, type Choice } from "./assemble.js";
import { createFirstAdminKey, type KeyRing, parseApiKeys, readKeysFile } from "./auth/keys.js";
import type { HostConfig } from "./config.js";
import { type AuditLog, fileAuditLog } from "./http/audit.js";
import { HostMetrics } from "./http/metrics.js";
import { loadMcpLayer, type McpLayer } from "./routes/mcp.js";

export interface StartOptions {
  logger: Logger;
  /** Where the one-time admin key and the "listening" line go (default stdout). */
  print?: (line: string) => void;
}

export interface RunningHost {
  url: string;
  port: number;
  server: Server;
  fleet: Fleet;
  choices: Choice[];
  /** Set when this start generated the first admin key (shown once). */
  generatedAdminKey?: string;
  close(): Promise<void>;
}

async function loadKeys(
  config: HostConfig,
  logger: Logger,
  print: (s: string) => void,
): Promise<{ keys: KeyRing | undefined; generated?: string; how: string }> {
  if (config.AUTH === "disabled") {
    const loopback = ["127.0.0.1", "::1", "localhost"].includes(config.HOST);
    logger.warn(
      { host: config.HOST },
      `AUTH=disabled: every caller is admin${loopback ? "" : " and the host listens beyond loopback"}`,
    );
    return { keys: undefined, how: "disabled (AUTH=disabled)" };
  }
  if (config.API_KEYS) return { keys: parseApiKeys(config.API_KEYS), how: "API_KEYS" };
  const existing = await readKeysFile(config.keysPath);
  if (existing) return { keys: existing, how: `keys file ${config.keysPath} (${existing.size} keys)` };
  const { key, ring } = await createFirstAdminKey(config.keysPath);
  print(`mcpfleet: generated the first admin API key (shown once; its sha256 is in ${config.keysPath}):\n  ${key}`);
  return { keys: ring, generated: key, how: `generated admin key in ${config.keysPath}` };
}

/** Assembles the fleet, starts it and listens. `close()` drains HTTP, then closes the fleet and adapters. */
export async function startHost(config: HostConfig, options: StartOptions): Promise<RunningHost> {
  const { logger } = options;
  const print = options.print ?? ((s: string) => process.stdout.write(`${s}\n`));
  const { keys, generated, how } = await loadKeys(config, logger, print);
  const metrics = new HostMetrics();
  const audit: AuditLog = fileAuditLog(config.auditPath);
  let assembled: Assembled | undefined;
  let mcp: McpLayer | undefined;
  try {
    assembled = await assembleFleet(config, logger, config.FLEET_ROLE, {
      onPublish: (type) => metrics.busPublished.inc({ type }),
      observer: metrics.observer,
    });
    const { fleet } = assembled;
    metrics.attach(fleet);
    await fleet.start();
    mcp = await loadMcpLayer(fleet, logger);
    if (mcp.missing.length > 0)
      logger.warn({ missing: mcp.missing }, "MCP routes answer 501 until @mcpfleet/mcp provides them");
    const { app } = createApp({ fleet, config, keys, audit, metrics, mcp });
    const server = app.listen(config.PORT, config.HOST);
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    const port = (server.address() as AddressInfo).port;
    const host = config.HOST.includes(":") ? `[${config.HOST}]` : config.HOST;
    const url = `http://${host}:${port}`;
    const runtime = assembled.choices.find((c) => c.what === "runtime")!;
    logger.info(
      { choices: assembled.choices, auth: how, audit: config.auditPath, workerId: assembled.workerId },
      "host started",
    );
    print(
      `mcpfleet host listening on ${url} (runtime=${runtime.value}: ${runtime.reason}; auth: ${how}; docs: ${url}/docs)`,
    );
    let closing: Promise<void> | undefined;
    const a = assembled;
    const m = mcp;
    return {
      url,
      port,
      server,
      fleet,
      choices: assembled.choices,
      ...(generated ? { generatedAdminKey: generated } : {}),
      close: () =>
        (closing ??= (async () => {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeIdleConnections();
          const timer = setTimeout(() => server.closeAllConnections(), Math.min(config.SHUTDOWN_TIMEOUT_MS, 5_000));
          await closed;
          clearTimeout(timer);
          await m.close();
          metrics.detach();
          await a.close();
          await audit.close();
          logger.info({}, "host stopped");
        })()),
    };
  } catch (err) {
    await mcp?.close();
    await assembled?.close().catch(() => {});
    await audit.close();
    throw err;
  }
}
