import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, resolve } from "node:path";
import { type Logger, silentLogger } from "@mcpfleet/core";
import { createGateway } from "@mcpfleet/mcp";
import { CliError, EXIT, usage } from "../errors.js";
import type { Io } from "../output.js";
import { promptSecret } from "../prompt.js";
import { applyDesired } from "../up/apply.js";
import { readConfigFile } from "../up/config-file.js";
import { embeddedFleet } from "../up/embedded.js";
import { Progress } from "../up/progress.js";
import { stderrLogger } from "../up/stderr-logger.js";

export interface UpArgs {
  file?: string | undefined;
  port: number;
  dataDir?: string | undefined;
  sandbox: "auto" | "bwrap" | "user" | "none";
  allowPath?: string[] | undefined;
  verbose?: boolean | undefined;
  settleTimeout: number;
}

const DEFAULT_FILES = ["mcp.json", "fleet.json", ".mcp.json"];

function pickFile(args: UpArgs): string {
  if (args.file) return resolve(args.file);
  const found = DEFAULT_FILES.map((f) => resolve(f)).find((f) => existsSync(f));
  if (!found) throw usage(`no config file: give -f <file> (looked for ${DEFAULT_FILES.join(", ")})`);
  return found;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((ok, fail) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      fail(
        new CliError(err.code ?? "LISTEN_FAILED", `cannot listen on 127.0.0.1:${port}: ${err.message}`, {
          exitCode: EXIT.UNAVAILABLE,
        }),
      ),
    );
    server.listen(port, "127.0.0.1", () => ok((server.address() as AddressInfo).port));
  });
}

/**
 * `mcpfleet up`: the config file's servers in an embedded fleet behind one MCP gateway on
 * 127.0.0.1 (aggregated `/mcp`, per server `/mcp/<name>`), until SIGINT/SIGTERM; then every child
 * is stopped before exiting. Resolves with the exit code once stopped.
 */
export async function up(args: UpArgs, io: Io): Promise<number> {
  const file = pickFile(args);
  const dataDir = resolve(args.dataDir ?? ".mcpfleet");
  const logger: Logger = args.verbose ? stderrLogger() : silentLogger();
  const tty = process.stderr.isTTY === true;
  const desired = await readConfigFile(file, {
    env: process.env,
    ...(process.stdin.isTTY
      ? { ask: (p) => promptSecret(`${p.name}${p.description ? ` (${p.description})` : ""}`) }
      : {}),
  });
  const gatewayRef: { handler?: ReturnType<typeof createGateway> } = {};
  const server = createServer((req, res) => {
    if (gatewayRef.handler && (req.url === "/mcp" || req.url?.startsWith("/mcp/") || req.url?.startsWith("/mcp?")))
      return gatewayRef.handler(req, res);
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not found" }));
  });
  const port = await listen(server, args.port);
  const base = `http://127.0.0.1:${port}`;
  const embedded = await embeddedFleet({
    dataDir,
    logger,
    sandbox: args.sandbox,
    readOnlyPaths: [process.cwd(), dirname(file), ...(args.allowPath ?? [])],
  }).catch(async (err) => {
    server.close();
    throw err;
  });
  const { fleet } = embedded;
  fleet.endpointPolicy.refuseOwnPort(port);
  gatewayRef.handler = createGateway(fleet, { basePath: "/mcp", logger });
  let signalled = false;
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((r) => {
    requestStop = r;
  });
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) {
      io.err(`mcpfleet: ${sig} again, exiting now\n`);
      process.exit(EXIT.INTERRUPTED);
    }
    signalled = true;
    requestStop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const progress = new Progress(fleet, io, tty);
  const shutdown = async () => {
    io.err("mcpfleet: stopping servers...\n");
    progress.close();
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections();
    await closed;
    await gatewayRef.handler?.close().catch(() => {});
    await embedded.close();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    io.err("mcpfleet: stopped\n");
  };
  try {
    io.err(`mcpfleet: ${desired.length} server${desired.length === 1 ? "" : "s"} from ${file} (data in ${dataDir})\n`);
    const applied = await applyDesired(fleet, dataDir, desired);
    for (const a of applied) {
      if (a.action === "removed") {
        io.err(`${a.name}: removed (no longer in the file)\n`);
        continue;
      }
      const i = await fleet.instances.get(a.id);
      progress.watch(a.id, `${a.name}${a.action === "unchanged" ? "" : ` [${a.action}]`}`, i.status, i.status_reason);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      progress.settled(),
      stopRequested,
      new Promise<void>((r) => {
        timer = setTimeout(r, args.settleTimeout * 1000);
      }),
    ]);
    clearTimeout(timer);
    if (!signalled) {
      progress.freeze();
      const names = applied.filter((a) => a.action !== "removed").map((a) => a.name);
      io.out(`MCP endpoint (all servers' tools as <server>__<tool>): ${base}/mcp\n`);
      for (const n of names) io.out(`  ${n}: ${base}/mcp/${encodeURIComponent(n)}\n`);
      const failed = progress.failed;
      if (failed.length > 0) io.err(`mcpfleet: failed to start: ${failed.join(", ")} (reasons above)\n`);
      io.out("Ready. Press Ctrl-C to stop.\n");
    }
    await stopRequested;
  } catch (err) {
    await shutdown();
    throw err;
  }
  await shutdown();
  return EXIT.OK;
}
