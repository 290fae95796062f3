import { toFleetError } from "@mcpfleet/core";
import { ConfigError, loadConfig } from "@mcpfleet/example-host-kit/config";
import { jsonLogger } from "@mcpfleet/example-host-kit/logger";
import { startHost } from "./host.js";

/** `pnpm --filter @mcpfleet/example-express-host start`: the host from environment configuration. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`mcpfleet host: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = jsonLogger(config.LOG_LEVEL).child({ service: "mcpfleet-host" });
  let host: Awaited<ReturnType<typeof startHost>>;
  try {
    host = await startHost(config, { logger });
  } catch (err) {
    const fe = toFleetError(err);
    logger.error({ code: fe.code, path: fe.path }, `start failed: ${fe.message}`);
    process.stderr.write(`mcpfleet host: start failed: ${fe.message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    const hard = setTimeout(() => {
      logger.error({}, "graceful shutdown timed out");
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS + 5_000);
    hard.unref();
    host.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

void main();
