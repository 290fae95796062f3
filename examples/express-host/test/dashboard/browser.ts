import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { REPO_ROOT } from "../helpers.js";

export const CHROMIUM = "/usr/bin/chromium";
export const ARTIFACTS = join(REPO_ROOT, "artifacts/ui");
const DIST_INDEX = join(REPO_ROOT, "examples/express-host/ui/dist/index.html");

/** Builds the dashboard when `pnpm build` has not (a test run straight after `pnpm install`). */
export function ensureDashboardBuilt(): void {
  if (existsSync(DIST_INDEX)) return;
  execFileSync("pnpm", ["--filter", "@mcpfleet/example-express-host", "build:ui"], {
    cwd: REPO_ROOT,
    stdio: "inherit",
  });
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** What a page reported that a person would not want: script errors and Content-Security-Policy violations. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`csp: ${m.text()}`);
  });
  return problems;
}

/** Numbered full-page screenshots under artifacts/ui/ (kept by CI), `<series>-NN-<name>.png` when a series is named. */
export function screenshots(series?: string): (page: Page, name: string) => Promise<string> {
  let shot = 0;
  return async (page, name) => {
    mkdirSync(ARTIFACTS, { recursive: true });
    shot++;
    const file = join(ARTIFACTS, `${series ? `${series}-` : ""}${String(shot).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
}
export const screenshot = screenshots();

export async function login(page: Page, url: string, key: string, shotName?: string): Promise<void> {
  await page.goto(`${url}/ui/`);
  await page.getByLabel("API key").fill(key);
  if (shotName) await screenshot(page, shotName);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Instances" }).waitFor();
}
