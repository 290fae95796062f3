import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { CliError, EXIT } from "../errors.js";

export interface Target {
  host: string;
  apiKey: string | undefined;
}

export interface TargetFlags {
  host?: string | undefined;
  config?: string | undefined;
}

/** `$MCPFLEET_CONFIG`, else `$XDG_CONFIG_HOME/mcpfleet/config.json`, else `~/.config/mcpfleet/config.json`. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MCPFLEET_CONFIG) return env.MCPFLEET_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "mcpfleet", "config.json");
}

/**
 * Reads `{ "host"?, "apiKey"? }` from the config file. The file holds a credential, so it must be
 * private to its owner: any group or other permission bit refuses it (CONFIG_INSECURE) before reading.
 * A missing default file is no error; a missing file named with --config is.
 */
async function readConfig(path: string, explicit: boolean): Promise<{ host?: string; apiKey?: string }> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" && !explicit) return {};
    throw new CliError("CONFIG_UNREADABLE", `cannot read config file ${path}: ${(err as Error).message}`, {
      exitCode: EXIT.USAGE,
    });
  }
  if ((mode & 0o077) !== 0)
    throw new CliError(
      "CONFIG_INSECURE",
      `config file ${path} is readable by others (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
    );
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new CliError("CONFIG_INVALID", `config file ${path} is not JSON: ${(err as Error).message}`, {
      exitCode: EXIT.USAGE,
    });
  }
  const o = (typeof doc === "object" && doc !== null ? doc : {}) as Record<string, unknown>;
  const out: { host?: string; apiKey?: string } = {};
  if (typeof o.host === "string") out.host = o.host;
  if (typeof o.apiKey === "string") out.apiKey = o.apiKey;
  return out;
}

/** Host: --host, $MCPFLEET_HOST, the config file, http://127.0.0.1:8080. Key: $MCPFLEET_API_KEY, the config file. */
export async function resolveTarget(flags: TargetFlags, env: NodeJS.ProcessEnv = process.env): Promise<Target> {
  const path = flags.config ?? defaultConfigPath(env);
  const needFile = !env.MCPFLEET_API_KEY || (!flags.host && !env.MCPFLEET_HOST);
  const file = needFile ? await readConfig(path, flags.config !== undefined) : {};
  const host = (flags.host ?? env.MCPFLEET_HOST ?? file.host ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
  if (!/^https?:\/\//.test(host))
    throw new CliError("USAGE", `--host must be an http(s) URL, got ${host}`, { exitCode: EXIT.USAGE });
  return { host, apiKey: env.MCPFLEET_API_KEY || file.apiKey };
}
