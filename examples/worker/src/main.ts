import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { toFleetError } from "@mcpfleet/core";
import { assembleFleet } from "@mcpfleet/example-host-kit/assemble";
import { ConfigError, loadConfig } from "@mcpfleet/example-host-kit/config";
import { jsonLogger } from "@mcpfleet/example-host-kit/logger";
import { HostMetrics } from "@mcpfleet/example-host-kit/metrics";

/**
 * A worker: only the reconciler and the health monitor (role "worker"), sharing the bus and the
 * store with the API host. Same environment variables as the host (see README); it needs a shared
 * bus (FLEET_BUS=redis|nats) and a shared store (FLEET_STORE=file on one machine, postgres across machines).
 */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
    const issues: Array<{ variable: string; message: string }> = [];
    if (config.FLEET_BUS === "memory")
      issues.push({ variable: "FLEET_BUS", message: "a worker needs a shared bus: redis or nats" });
    if (config.FLEET_STORE === "memory")
      issues.push({ variable: "FLEET_STORE", message: "a worker needs a shared store: file or postgres" });
    if (issues.length > 0) throw new ConfigError(issues);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`mcpfleet worker: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = jsonLogger(config.LOG_LEVEL).child({ service: "mcpfleet-worker" });
  let assembled: Awaited<ReturnType<typeof assembleFleet>>;
  const metrics = new HostMetrics();
  try {
    assembled = await assembleFleet(config, logger, "worker", {
      onPublish: (type) => metrics.busPublished.inc({ type }),
      observer: metrics.observer,
    });
    metrics.attach(assembled.fleet);
    await assembled.start();
  } catch (err) {
    const fe = toFleetError(err);
    process.stderr.write(`mcpfleet worker: start failed: ${fe.message}\n`);
    process.exit(1);
  }
  const { fleet, choices, workerId } = assembled;
  let health: Server | undefined;
  const healthPort = process.env.HEALTH_PORT ? Number(process.env.HEALTH_PORT) : undefined;
  if (healthPort !== undefined) {
    health = createServer(async (req, res) => {
      if (req.url === "/health")
        return void res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ status: "ok", workerId }));
      if (req.url === "/metrics")
        return void res
          .writeHead(200, { "content-type": metrics.registry.contentType })
          .end(await metrics.registry.metrics());
      if (req.url === "/ready") {
        const r = await fleet.ready();
        return void res.writeHead(r.ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(r));
      }
      res.writeHead(404).end();
    }).listen(healthPort, config.HOST);
    await once(health, "listening");
  }
  logger.info({ choices, workerId }, "worker started");
  const runtime = choices.find((c) => c.what === "runtime")!;
  const bus = choices.find((c) => c.what === "bus")!;
  const port = (health?.address() as AddressInfo | undefined)?.port;
  const healthUrl =
    port === undefined
      ? ""
      : `; health and metrics on http://${config.HOST.includes(":") ? `[${config.HOST}]` : config.HOST}:${port}`;
  process.stdout.write(
    `mcpfleet worker ${workerId} reconciling (runtime=${runtime.value}: ${runtime.reason}; bus=${bus.value})${healthUrl}\n`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    logger.info({ signal }, "worker shutting down: finishing in-flight work");
    setTimeout(() => process.exit(1), config.SHUTDOWN_TIMEOUT_MS + 5_000).unref();
    health?.close();
    assembled.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

void main();
