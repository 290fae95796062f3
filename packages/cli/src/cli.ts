import yargs, { type Argv } from "yargs";
import { type Ctx, remoteContext } from "./commands/context.js";
import { create } from "./commands/create.js";
import { events } from "./commands/events.js";
import { get, lifecycle, logs, ls, rm } from "./commands/instances.js";
import { call, tools } from "./commands/tools.js";
import { up } from "./commands/up.js";
import { CliError, EXIT } from "./errors.js";
import type { Io } from "./output.js";

export const VERSION = "0.1.0";

const EPILOGUE =
  "Remote commands use --host (or $MCPFLEET_HOST) and the API key in $MCPFLEET_API_KEY or the config file " +
  "(~/.config/mcpfleet/config.json, mode 0600). Exit codes: 0 ok, 1 error, 2 usage, 3 auth, 4 not found, " +
  "5 conflict, 6 invalid input, 7 unavailable, 8 tool error, 130 interrupted.";

/** Runs one command line; resolves with the exit code (errors are printed, never thrown). */
export async function main(argv: string[], io: Io): Promise<number> {
  const abort = new AbortController();
  let exitCode: number = EXIT.OK;
  // yargs' inferred argument types differ per command; each handler declares the ones it reads
  const remote =
    (fn: (ctx: Ctx, args: any) => Promise<void>) =>
    async (args: any): Promise<void> => {
      const onSignal = () => abort.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        await fn(await remoteContext(args, io, abort.signal), args);
        if (abort.signal.aborted) exitCode = EXIT.INTERRUPTED;
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    };
  const instance = (y: Argv<any>): Argv<any> =>
    y.positional("instance", { type: "string", demandOption: true, describe: "instance id or name" });
  const parser = yargs(argv)
    .scriptName("mcpfleet")
    .usage("$0 <command> [options]")
    .version(VERSION)
    .option("host", { type: "string", describe: "host URL (default $MCPFLEET_HOST or http://127.0.0.1:8080)" })
    .option("config", { type: "string", describe: "config file with host and apiKey (must be mode 0600)" })
    .option("json", { type: "boolean", default: false, describe: "JSON output for scripts" })
    .command(
      "up",
      "Run the servers of a config file (Claude Desktop / Cursor / VS Code mcp.json, or fleet.json) behind one MCP endpoint",
      (y) =>
        y
          .option("file", { alias: "f", type: "string", describe: "config file (default ./mcp.json or ./fleet.json)" })
          .option("port", { type: "number", default: 8765, describe: "port on 127.0.0.1 (0: any free port)" })
          .option("data-dir", { type: "string", describe: "where state persists between runs (default ./.mcpfleet)" })
          .option("sandbox", {
            choices: ["auto", "bwrap", "user", "none"] as const,
            default: "auto" as const,
            describe: "how server processes are isolated",
          })
          .option("allow-path", { type: "string", array: true, describe: "extra directory the servers may read" })
          .option("settle-timeout", { type: "number", default: 120, describe: "seconds to wait before printing URLs" })
          .option("verbose", { type: "boolean", default: false, describe: "the fleet's log on stderr" }),
      async (a) => {
        exitCode = await up(
          {
            file: a.file,
            port: a.port,
            dataDir: a["data-dir"],
            sandbox: a.sandbox,
            allowPath: a["allow-path"],
            verbose: a.verbose,
            settleTimeout: a["settle-timeout"],
          },
          io,
        );
      },
    )
    .command(
      ["ls", "list"],
      "List instances",
      (y) => y.option("status", { type: "string", describe: "only this status" }),
      remote(ls),
    )
    .command("get <instance>", "Show one instance (secrets as refs only)", instance, remote(get))
    .command(
      "create [name]",
      "Create an instance from a spec file, a template or a catalog entry",
      (y) =>
        y
          .positional("name", { type: "string", describe: "instance name" })
          .option("file", { alias: "f", type: "string", describe: "spec file: a create body or a json_spec" })
          .option("template", { alias: "t", type: "string", describe: "template key" })
          .option("catalog", { alias: "c", type: "string", describe: "catalog entry" })
          .option("set", { type: "string", array: true, describe: "KEY=VALUE (template environment / catalog values)" })
          .option("secret", {
            type: "string",
            array: true,
            describe: "secret NAME: prompted without echo, or read from stdin (NAME=value lines for several)",
          })
          .option("start", { type: "boolean", default: true, describe: "start right away (--no-start)" }),
      remote(create),
    )
    .command(
      "start <instance>",
      "Start an instance",
      instance,
      remote((c, a) => lifecycle(c, "start", a)),
    )
    .command(
      "stop <instance>",
      "Stop an instance",
      instance,
      remote((c, a) => lifecycle(c, "stop", a)),
    )
    .command(["rm <instance>", "delete <instance>"], "Delete an instance", instance, remote(rm))
    .command(
      "logs <instance>",
      "Print an instance's logs",
      (y) =>
        instance(y)
          .option("follow", { alias: "f", type: "boolean", default: false, describe: "keep following" })
          .option("tail", { type: "number", describe: "last N lines" }),
      remote(logs),
    )
    .command("tools <instance>", "List the tools of a running instance", instance, remote(tools))
    .command(
      "call <instance> <tool> [args..]",
      "Call a tool: arguments as key=value (JSON values parsed: n=3, flag=true, obj='{\"a\":1}')",
      (y) =>
        instance(y)
          .positional("tool", { type: "string", demandOption: true })
          .positional("args", { type: "string", array: true }),
      remote(call),
    )
    .command(
      "events",
      "Print the fleet's events (GET /v1/events)",
      (y) =>
        y
          .option("follow", {
            alias: "f",
            type: "boolean",
            default: false,
            describe: "follow live (resumes after drops)",
          })
          .option("instance", { alias: "i", type: "string", array: true, describe: "only this instance (repeatable)" }),
      remote(events),
    )
    .completion("completion", "Print a bash/zsh completion script (mcpfleet completion >> ~/.bashrc)")
    .demandCommand(1, "give a command (mcpfleet --help lists them)")
    .strict()
    .recommendCommands()
    .epilogue(EPILOGUE)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw new CliError("USAGE", msg, { exitCode: EXIT.USAGE });
    });
  try {
    await parser.parseAsync();
    return exitCode;
  } catch (err) {
    return report(err, io);
  }
}

function report(err: unknown, io: Io): number {
  if (err instanceof CliError) {
    io.err(`mcpfleet: ${err.code}: ${err.message}\n`);
    for (const i of err.issues) io.err(`  ${i.path || "(root)"}: ${i.message}\n`);
    if (err.code === "USAGE") io.err("Run mcpfleet --help for usage.\n");
    return err.exitCode;
  }
  const e = err as { code?: unknown; message?: string; issues?: Array<{ path: string; message: string }> };
  const code = typeof e?.code === "string" ? e.code : "ERROR";
  io.err(`mcpfleet: ${code}: ${e?.message ?? String(err)}\n`);
  for (const i of e?.issues ?? []) io.err(`  ${i.path || "(root)"}: ${i.message}\n`);
  const { exitCodeFor } = { exitCodeFor: (c: string) => new CliError(c, "").exitCode };
  return exitCodeFor(code);
}
