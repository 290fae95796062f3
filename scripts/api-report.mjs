#!/usr/bin/env node
// API reports: one checked-in `api/<entry>.api.md` per package entry point (`.`, `./adapter`,
// `./testing`), written by @microsoft/api-extractor from the built `.d.ts`.
//   node scripts/api-report.mjs          check: fails when a public API differs from its report (pnpm lint)
//   node scripts/api-report.mjs --write  update the reports after an intended API change
// A package whose src is newer than its dist is rebuilt first, so the check never reads stale types.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Extractor, ExtractorConfig } from "@microsoft/api-extractor";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const write = process.argv.includes("--write");
const only = process.argv.slice(2).filter((a) => !a.startsWith("--"));

function newest(dir) {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const t = entry.isDirectory() ? newest(path) : statSync(path).mtimeMs;
    if (t > max) max = t;
  }
  return max;
}

/** [subpath, d.ts path] for every entry of the exports map that has types. */
function entries(pkg) {
  const out = [];
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    const types = typeof target === "object" ? target.types : undefined;
    const dts = typeof types === "string" ? types : types?.import;
    if (dts) out.push([subpath, dts]);
  }
  return out;
}

const temp = mkdtempSync(join(tmpdir(), "mcpfleet-api-"));
const failures = [];
try {
  for (const name of readdirSync(join(root, "packages")).sort()) {
    const dir = join(root, "packages", name);
    if (!existsSync(join(dir, "package.json")) || (only.length && !only.includes(name))) continue;
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const list = entries(pkg);
    if (list.length === 0) continue;
    const built = list.map(([, dts]) => join(dir, dts));
    const oldest = Math.min(...built.map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)));
    if (oldest < newest(join(dir, "src"))) {
      console.log(`api-report: ${pkg.name}: dist older than src, building`);
      execFileSync("pnpm", ["--filter", pkg.name, "build"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
    }
    for (const [subpath, dts] of list) {
      const reportName = subpath === "." ? "index" : subpath.replace(/^\.\//, "").replaceAll("/", "-");
      mkdirSync(join(dir, "api"), { recursive: true });
      const config = ExtractorConfig.prepare({
        configObject: {
          projectFolder: dir,
          mainEntryPointFilePath: join(dir, dts),
          compiler: {
            overrideTsconfig: {
              compilerOptions: {
                target: "ES2022",
                module: "NodeNext",
                moduleResolution: "NodeNext",
                strict: true,
                lib: ["ES2023", "DOM"],
                types: ["node"],
              },
              files: [join(dir, dts)],
            },
            skipLibCheck: true,
          },
          apiReport: {
            enabled: true,
            reportFileName: reportName,
            reportFolder: join(dir, "api"),
            reportTempFolder: join(temp, name),
          },
          docModel: { enabled: false },
          dtsRollup: { enabled: false },
          tsdocMetadata: { enabled: false },
          newlineKind: "lf",
          messages: {
            compilerMessageReporting: { default: { logLevel: "error" } },
            extractorMessageReporting: {
              default: { logLevel: "none" },
              "ae-forgotten-export": { logLevel: "none", addToApiReportFile: true },
            },
            tsdocMessageReporting: { default: { logLevel: "none" } },
          },
        },
        configObjectFullPath: join(dir, "api-extractor.json"),
        packageJsonFullPath: join(dir, "package.json"),
      });
      const result = Extractor.invoke(config, {
        localBuild: write,
        messageCallback: (m) => {
          // errors are counted in the result and printed; notes about the bundled compiler are noise
          m.handled = m.logLevel !== "error";
        },
      });
      const report = relative(root, join(dir, "api", `${reportName}.api.md`));
      if (result.apiReportChanged) {
        failures.push(write ? `${report}: updated` : `${report}: differs from ${pkg.name}${subpath.slice(1)}`);
      } else if (!result.succeeded) failures.push(`${report}: ${result.errorCount} error(s)`);
    }
  }
} finally {
  rmSync(temp, { recursive: true, force: true });
}
if (failures.length > 0) {
  console.log(failures.join("\n"));
  if (!write) {
    console.error("api-report: the public API changed; review it and run `node scripts/api-report.mjs --write`");
    process.exit(1);
  }
}
