import { chmod, mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import type { Logger, RuntimeBackend } from "@mcpfleet/core";
import { loadExport } from "./adapters.js";
import type { Choice, Own } from "./assemble.js";
import type { HostConfig } from "./config.js";

/**
 * Beside a container runtime, `process` specs (commands on this host) run only when
 * FLEET_PROCESS_RUNTIME=on says so; otherwise they are refused as an unsupported type.
 */
export async function optionalProcessRuntime(
  config: HostConfig,
  logger: Logger,
  choices: Choice[],
  own: Own,
): Promise<Record<string, RuntimeBackend>> {
  if (config.FLEET_PROCESS_RUNTIME !== true) {
    choices.push({
      what: "runtime",
      value: "no process runtime",
      reason: "beside a container runtime, json_spec.type=process needs FLEET_PROCESS_RUNTIME=on",
    });
    return {};
  }
  const processRuntime = await loadExport("@mcpfleet/backend-process", "processRuntime", "FLEET_PROCESS_RUNTIME=on");
  const log = logger.child({ component: "runtime-process" });
  choices.push({
    what: "runtime",
    value: "process",
    reason: "FLEET_PROCESS_RUNTIME=on (beside the container runtime)",
  });
  return { process: own(processRuntime(await processOptions(config, log)) as RuntimeBackend) };
}

/**
 * Options of the process runtime: the sandbox choice, the read-only paths, a work directory beside
 * the data directory, and the host's own files hidden from every child. The data directory is made
 * private (0700) so a child running as another user cannot read it even without bubblewrap.
 */
export async function processOptions(config: HostConfig, logger: Logger): Promise<Record<string, unknown>> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  await chmod(config.dataDir, 0o700);
  const hidden = [config.dataDir, config.storePath, config.secretsPath, config.keysPath, config.auditPath];
  return {
    logger,
    sandbox: config.FLEET_PROCESS_SANDBOX,
    ...(config.FLEET_PROCESS_ALLOW_ROOT ? { allowRoot: true } : {}),
    readOnlyPaths: config.FLEET_PROCESS_READONLY_PATHS.map((p) => resolve(p)),
    hiddenPaths: [...new Set(hidden.map((p) => resolve(p)))],
    workDir: config.processWorkDir,
    // a stdio server started through `npx -y` first downloads its package into the child's own npm
    // cache: give slow starts more than the default 30 s, for the handshake and the readiness wait alike
    ...(config.START_TIMEOUT_MS
      ? {
          startTimeoutMs: config.START_TIMEOUT_MS,
          bridge: { initializeTimeoutMs: config.START_TIMEOUT_MS },
        }
      : {}),
    ...(config.FLEET_PROCESS_ADVERTISE_HOST ? { advertiseHost: config.FLEET_PROCESS_ADVERTISE_HOST } : {}),
  };
}
