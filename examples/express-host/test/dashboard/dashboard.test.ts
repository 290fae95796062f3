import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, startTestHost, type TestHost } from "../helpers.js";
import { CHROMIUM, ensureDashboardBuilt, launch, login, screenshot, watchProblems } from "./browser.js";

/**
 * The dashboard as a person uses it, in headless Chromium (playwright-core) against the real listening host
 * with the process runtime and @modelcontextprotocol/server-everything. Screenshots of each step go to
 * artifacts/ui/ at the repository root.
 */

const require = createRequire(import.meta.url);
const EVERYTHING = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist/index.js",
);
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) {
  const why = `dashboard end-to-end suite: ${CHROMIUM} is missing (bash scripts/test-env.sh installs it)`;
  if (process.env.REQUIRE_INTEGRATION === "1") throw new Error(`${why}; REQUIRE_INTEGRATION=1 forbids skipping`);
  console.warn(`SKIP ${why}`);
}

const WAIT = 90_000;
const NAME = `everything-${process.pid}-${Date.now().toString(36)}`;
const CANARY = `CANARY-ui-${Math.random().toString(36).slice(2)}`;

let host: TestHost;
let browser: Browser;
let admin: Page;
let problems: string[];
let id: string;

describe.skipIf(!HAVE_CHROMIUM)("dashboard at /ui (headless Chromium, real host, server-everything)", () => {
  beforeAll(async () => {
    ensureDashboardBuilt();
    host = await startTestHost({ FLEET_RUNTIME: "process" });
    browser = await launch();
    admin = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    admin.setDefaultTimeout(WAIT);
    problems = watchProblems(admin);
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await host?.close();
  });

  it("serves the built app with its CSP, cache headers and an SPA fallback", async () => {
    const index = await fetch(`${host.url}/ui/`);
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toMatch(/text\/html/);
    expect(index.headers.get("cache-control")).toBe("no-cache");
    const csp = index.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    const html = await index.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    const asset = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${host.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const deep = await fetch(`${host.url}/ui/instances/whatever`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);
    expect((await fetch(`${host.url}/ui/assets/missing-0000.js`)).status).toBe(404);
  });

  it("logs in with an admin key, creates server-everything, sees it reach running live", async () => {
    await admin.goto(`${host.url}/ui/`);
    await admin.getByLabel("API key").fill("not-a-key-0123456789");
    await admin.getByRole("button", { name: "Log in" }).click();
    await admin.getByRole("alert").filter({ hasText: "invalid API key" }).waitFor();
    await screenshot(admin, "login-refused");
    await login(admin, host.url, KEYS.admin, "login");
    expect(await admin.getByTestId("who").textContent()).toContain("admin");
    await admin.getByTestId("live-state").locator('[data-state="live"]').waitFor();
    await screenshot(admin, "instances-empty");

    await admin.getByRole("link", { name: "Create instance" }).first().click();
    await admin.getByRole("heading", { name: "Create instance" }).waitFor();
    await admin.getByLabel("Name").fill(NAME);
    await admin
      .getByLabel("json_spec")
      .fill(
        JSON.stringify(
          { type: "process", command: [process.execPath, EVERYTHING, "stdio"], transport: "stdio" },
          null,
          2,
        ),
      );
    await admin.getByRole("button", { name: "Add secret" }).click();
    await admin.getByLabel("Secret 1 name").fill("UI_TOKEN");
    await admin.getByLabel("Secret 1 value").fill(CANARY);
    await screenshot(admin, "create-form");
    await admin.getByRole("button", { name: "Create", exact: true }).click();

    await admin.getByRole("heading", { name: NAME }).waitFor();
    id = decodeURIComponent(new URL(admin.url()).pathname.split("/").pop()!);
    expect((await host.call("GET", `/v1/mcp-server-instances/${id}`)).body.name).toBe(NAME);
    await admin.getByTestId("live-state").locator('[data-state="live"]').waitFor();
    await admin.getByTestId("instance-status").locator('[data-status="running"]').waitFor();
    await screenshot(admin, "instance-running");

    // the spec shows the secret as a reference only; the value never reaches the page
    const spec = JSON.parse((await admin.getByTestId("spec").textContent())!);
    expect(spec.environment.UI_TOKEN).toMatch(/^secret_ref:instance_[^:]+:UI_TOKEN$/);
    await admin.getByRole("cell", { name: spec.environment.UI_TOKEN }).waitFor();
    expect(await admin.content()).not.toContain(CANARY);
  }, 180_000);

  it("calls echo from the form generated from its input schema", async () => {
    const echo = admin.locator('details[data-tool="echo"]');
    await echo.locator("summary").click();
    const form = echo.getByRole("form", { name: "Call echo" });
    await form.getByLabel("message").fill("hello from the dashboard");
    await form.getByRole("button", { name: "Call echo" }).click();
    await echo.getByTestId("tool-result").filter({ hasText: "Echo: hello from the dashboard" }).waitFor();
    await screenshot(admin, "tool-echo-result");
    // the call went through the MCP gateway as an audited MCP call by this key
    await expect
      .poll(() => import("node:fs").then((fs) => fs.readFileSync(host.auditPath, "utf8")), { timeout: WAIT })
      .toMatch(/"action":"mcp:instance".*"tool":"echo"/);
  }, 120_000);

  it("follows the instance's logs", async () => {
    await admin.getByRole("button", { name: "Follow logs" }).click();
    await admin.getByTestId("logs-state").filter({ hasText: "following" }).waitFor();
    const rest = await host.call("GET", `/v1/mcp-server-instances/${id}/logs?tail=200`);
    expect(rest.status).toBe(200);
    const lines = rest.text
      .split("\n")
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { line: string }).line);
    expect(lines.length).toBeGreaterThan(0); // server-everything announces itself on stderr
    for (const line of lines.slice(-5)) await admin.getByTestId("logs").filter({ hasText: line }).waitFor();
    expect(await admin.getByRole("button", { name: "Stop following logs" }).getAttribute("aria-pressed")).toBe("true");
    await screenshot(admin, "logs-following");
  }, 120_000);

  it("a viewer sees no create, delete or call controls, and the API refuses them too", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const viewer = await context.newPage();
    viewer.setDefaultTimeout(WAIT);
    const viewerProblems = watchProblems(viewer);
    await login(viewer, host.url, KEYS.viewer);
    expect(await viewer.getByTestId("who").textContent()).toContain("viewer");
    const row = viewer.locator(`tr[data-instance="${NAME}"]`);
    await row.locator('[data-status="running"]').waitFor();
    expect(await viewer.getByRole("link", { name: "Create instance" }).count()).toBe(0);
    await screenshot(viewer, "viewer-instances");
    // keyboard: a skip link comes first; focus sits on the page's heading, so one Tab reaches the first instance
    // (a viewer has no create link before it) and Enter opens it, focus landing on its heading
    expect(await viewer.locator("a").first().getAttribute("href")).toBe("#main");
    expect(await viewer.evaluate(() => document.activeElement?.tagName)).toBe("H1");
    await viewer.keyboard.press("Tab");
    expect(await viewer.evaluate(() => document.activeElement?.textContent)).toBe(NAME);
    await viewer.keyboard.press("Enter");
    await viewer.getByRole("heading", { name: NAME }).waitFor();
    await expect.poll(() => viewer.evaluate(() => document.activeElement?.tagName), { timeout: WAIT }).toBe("H1");
    expect(await viewer.getByRole("button", { name: "Delete" }).count()).toBe(0);
    expect(await viewer.getByRole("button", { name: "Stop" }).count()).toBe(0);
    const echo = viewer.locator('details[data-tool="echo"]');
    await echo.locator("summary").click();
    expect(await echo.getByRole("button", { name: "Call echo" }).isDisabled()).toBe(true);
    await echo.getByText("Calling tools needs the operator role.").waitFor();
    await screenshot(viewer, "viewer-instance");
    await viewer.goto(`${host.url}/ui/create`);
    await viewer.getByRole("heading", { name: "Not allowed" }).waitFor();

    // what the page hides, the API refuses
    const del = await host.call("DELETE", `/v1/mcp-server-instances/${id}`, { role: "viewer" });
    expect(del.status).toBe(403);
    expect(del.body.code).toBe("FORBIDDEN");
    const create = await host.call("POST", "/v1/mcp-server-instances", {
      role: "viewer",
      body: { name: `${NAME}-v`, json_spec: { type: "docker", image: "mcp/echo:1", port: 8000 } },
    });
    expect(create.status).toBe(403);
    const call = await host.call("POST", `/mcp/${id}`, {
      role: "viewer",
      headers: { accept: "application/json, text/event-stream" },
      body: { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: { message: "x" } } },
    });
    expect(call.status).toBe(403);
    expect((await host.call("GET", "/v1/whoami", { role: "viewer" })).body).toEqual({ id: "view", role: "viewer" });
    expect(viewerProblems).toEqual([]);
    await context.close();
  }, 120_000);

  it("deletes the instance and the list drops it live", async () => {
    await admin.getByRole("button", { name: "Delete" }).click();
    await screenshot(admin, "delete-confirm");
    await admin.getByRole("button", { name: "Confirm delete" }).click();
    await admin.getByRole("heading", { name: "Instances" }).waitFor();
    await admin.locator(`tr[data-instance="${NAME}"]`).waitFor({ state: "detached" });
    await screenshot(admin, "instances-after-delete");
    await expect
      .poll(async () => (await host.call("GET", `/v1/mcp-server-instances/${id}`)).status, { timeout: WAIT })
      .toBe(404);
    expect(await admin.content()).not.toContain(CANARY);
    expect(problems).toEqual([]);
  }, 120_000);
});
