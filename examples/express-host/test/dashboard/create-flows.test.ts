import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeWith, type ServiceStatus } from "@mcpfleet/core/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { KEYS, startTestHost, type TestHost } from "../helpers.js";
import {
  CATALOG_ENTRY,
  everythingCatalog,
  ownedContainers,
  podman,
  podmanHostEnv,
  podmanVars,
  readInContainer,
  removeOwned,
} from "../podman.js";
import { CHROMIUM, ensureDashboardBuilt, launch, login, screenshots, watchProblems } from "./browser.js";

/**
 * Creating instances from a template and from a catalog entry through the dashboard, as an operator, in headless
 * Chromium against the real listening host on the Podman runtime (server-everything images built locally by
 * scripts/podman-env.sh). The secret each form asks for is typed into a masked field, reaches the container (read
 * back inside it by the test, not the page) and never comes back to the page or out of the REST API.
 * A crash-looping instance shows its restarts and reason live. Screenshots go to artifacts/ui/create-*.png.
 */

const chromium: ServiceStatus = existsSync(CHROMIUM)
  ? { name: "chromium", available: true }
  : { name: "chromium", available: false, reason: `${CHROMIUM} is missing (bash scripts/test-env.sh installs it)` };

const WAIT = 90_000;
const RUN = `${process.pid}-${Date.now().toString(36)}`;
const OWNER = `ui-create-${RUN}`;
const TEMPLATE_CANARY = `CANARY-tpl-${Math.random().toString(36).slice(2)}`;
const CATALOG_CANARY = `CANARY-cat-${Math.random().toString(36).slice(2)}`;
const shot = screenshots("create");

let host: TestHost;
let browser: Browser;
let page: Page;
let problems: string[];
const created: string[] = [];

/** The instance's environment as its server sees it (server-everything's get-env tool), through /mcp/{id}. */
async function envInside(id: string): Promise<string> {
  const client = new Client({ name: "ui-create-test", version: "1" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${host.url}/mcp/${id}`), {
      requestInit: { headers: { authorization: `Bearer ${KEYS.operator}` } },
    }),
  );
  try {
    const r = (await client.callTool({ name: "get-env", arguments: {} })) as { content: Array<{ text?: string }> };
    return r.content.map((c) => c.text ?? "").join("\n");
  } finally {
    await client.close();
  }
}

/** What the page shows and holds: its text, its markup, and every form field's current value. */
const pageHolds = async (p: Page): Promise<string> =>
  [
    await p.content(),
    await p.evaluate(() => document.body.textContent ?? ""),
    ...(await p.evaluate(() =>
      Array.from(document.querySelectorAll("input, textarea, select")).map((e) => (e as HTMLInputElement).value),
    )),
  ].join("\n");

/** On the instance page after a create: the id from the URL, waits for running live, checks the REST view too. */
async function reachesRunning(name: string, secretVar: string, canary: string): Promise<string> {
  await page.getByRole("heading", { name }).waitFor();
  const id = decodeURIComponent(new URL(page.url()).pathname.split("/").pop()!);
  created.push(id);
  await page.getByTestId("live-state").locator('[data-state="live"]').waitFor();
  await page.getByTestId("instance-status").locator('[data-status="running"]').waitFor();
  const rest = await host.call("GET", `/v1/mcp-server-instances/${id}`, { role: "viewer" });
  expect(rest.status).toBe(200);
  expect(rest.body).toMatchObject({ name, status: "running", desired_state: "running" });
  expect(rest.body.json_spec.type).toBe("docker");
  expect(rest.body.json_spec.environment[secretVar]).toMatch(new RegExp(`^secret_ref:instance_[^:]+:${secretVar}$`));
  expect(rest.text).not.toContain(canary);
  // the spec on the page shows the reference, and the tools of the running server are listed
  const spec = JSON.parse((await page.getByTestId("spec").textContent())!);
  expect(spec.environment[secretVar]).toBe(rest.body.json_spec.environment[secretVar]);
  await page.locator('details[data-tool="echo"]').waitFor();
  expect(await pageHolds(page)).not.toContain(canary);
  // the value itself reached the container, as a file its environment points to (never a literal variable)
  const env = await envInside(id);
  expect(env).toContain(`"${secretVar}_FILE": "/run/secrets/${secretVar}"`);
  expect(env).not.toContain(canary);
  expect(await readInContainer(OWNER, id, `/run/secrets/${secretVar}`)).toBe(canary);
  const list = await host.call("GET", "/v1/mcp-server-instances", { role: "viewer" });
  expect(list.text).not.toContain(canary);
  return id;
}

describeWith(
  [chromium, podman],
  "dashboard: create from a template, from the catalog, a crash loop (Podman, headless Chromium)",
  () => {
    beforeAll(async () => {
      ensureDashboardBuilt();
      const fixtures = everythingCatalog(mkdtempSync(join(tmpdir(), "mcpfleet-ui-create-")));
      host = await startTestHost({
        ...podmanHostEnv(OWNER),
        TEMPLATES_DIR: fixtures.templatesDir,
        CATALOG_DIR: fixtures.catalogDir,
        HEALTH_INTERVAL_MS: "1000",
        // the crash-loop test: two restarts, then failed
        MAX_RESTARTS: "2",
        RECONCILE_BACKOFF_MS: "200",
      });
      browser = await launch();
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.setDefaultTimeout(WAIT);
      problems = watchProblems(page);
      await login(page, host.url, KEYS.operator);
      expect(await page.getByTestId("who").textContent()).toContain("operator");
    }, 240_000);
    afterAll(async () => {
      await browser?.close();
      for (const id of created) await host?.call("DELETE", `/v1/mcp-server-instances/${id}`).catch(() => {});
      await host?.close();
      await removeOwned(OWNER);
    }, 120_000);

    it("picks a template, fills its variables (the secret one masked), submits; the instance goes running", async () => {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Create instance" }).click();
      await page.getByRole("heading", { name: "Create instance" }).waitFor();
      await page.getByRole("radio", { name: "a template" }).check();
      const form = page.getByRole("form", { name: "Create from a template" });
      await form.getByLabel("Template").selectOption("everything-http");
      await form.getByLabel("Name").fill(`tpl-${RUN}`);
      await form.getByLabel("GREETING").fill("hi from the template form");
      const secret = form.getByLabel("UPSTREAM_TOKEN");
      expect(await secret.getAttribute("type")).toBe("password");
      expect(await secret.getAttribute("autocomplete")).toBe("off");
      await secret.fill(TEMPLATE_CANARY);
      // masked: the field holds the value, the page shows no text of it
      expect(await secret.inputValue()).toBe(TEMPLATE_CANARY);
      expect(await page.evaluate(() => document.body.textContent ?? "")).not.toContain(TEMPLATE_CANARY);
      await shot(page, "template-form");
      await form.getByRole("button", { name: "Create from everything-http" }).click();

      const id = await reachesRunning(`tpl-${RUN}`, "UPSTREAM_TOKEN", TEMPLATE_CANARY);
      const rest = await host.call("GET", `/v1/mcp-server-instances/${id}`, { role: "viewer" });
      expect(rest.body.json_spec).toMatchObject({
        image: podmanVars.MCPFLEET_TEST_IMAGE_HTTP,
        port: 3001,
        environment: { GREETING: "hi from the template form" },
      });
      expect(await envInside(id)).toContain("hi from the template form");
      await shot(page, "template-instance-running");
      // the list shows it running too
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Instances" }).click();
      await page.locator(`tr[data-instance="tpl-${RUN}"]`).locator('[data-status="running"]').waitFor();
      expect(await pageHolds(page)).not.toContain(TEMPLATE_CANARY);
    }, 240_000);

    it("searches the catalog, picks the entry, a refused create echoes no secret, then it goes running", async () => {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Create instance" }).click();
      await page.getByRole("radio", { name: "the catalog" }).check();
      await page.getByRole("searchbox", { name: "Search the catalog" }).fill("everything");
      const entries = page.getByRole("list", { name: "Catalog entries" });
      await entries.getByRole("button", { name: "Everything (test image)" }).click();
      expect(await entries.getByRole("button", { name: "Everything (test image)" }).getAttribute("aria-pressed")).toBe(
        "true",
      );
      const form = page.getByRole("form", { name: "Create from Everything (test image)" });
      expect(await form.getByLabel("Name").getAttribute("placeholder")).toBe("everything");
      const secret = form.getByLabel("EVERYTHING_TOKEN");
      // its description, then what happens to the value (the field's accessible description)
      expect(
        await secret.evaluate((e) => document.getElementById(e.getAttribute("aria-describedby")!)?.textContent),
      ).toBe("API token. Stored in the secret store; the spec keeps only a reference.");
      expect(await secret.getAttribute("type")).toBe("password");
      await secret.fill(CATALOG_CANARY);
      await form.getByLabel("EVERYTHING_MODE").selectOption("thorough");
      // first with the template instance's name: the host refuses, the error names the problem, not the secret
      await form.getByLabel("Name").fill(`tpl-${RUN}`);
      await form.getByRole("button", { name: "Create from Everything (test image)" }).click();
      const refusal = page.getByRole("alert");
      await refusal.waitFor();
      expect(await refusal.textContent()).toMatch(/ALREADY_EXISTS|CONFLICT/);
      expect(await page.evaluate(() => document.body.textContent ?? "")).not.toContain(CATALOG_CANARY);
      // still on the form, the value kept (masked) for the retry
      expect(await secret.inputValue()).toBe(CATALOG_CANARY);
      await shot(page, "catalog-refused");

      await form.getByLabel("Name").fill(`cat-${RUN}`);
      await shot(page, "catalog-form");
      await form.getByRole("button", { name: "Create from Everything (test image)" }).click();
      const id = await reachesRunning(`cat-${RUN}`, "EVERYTHING_TOKEN", CATALOG_CANARY);
      const rest = await host.call("GET", `/v1/mcp-server-instances/${id}`, { role: "viewer" });
      expect(rest.body.json_spec).toMatchObject({
        image: podmanVars.MCPFLEET_TEST_IMAGE_STDIO,
        transport: "stdio",
        environment: { EVERYTHING_MODE: "thorough" },
      });
      expect(await envInside(id)).toContain("thorough");
      await shot(page, "catalog-instance-running");

      // the entry registered its server definition, which the servers page lists
      const server = await host.call("GET", `/v1/mcp-servers/${rest.body.server_spec_id}`, { role: "viewer" });
      expect(server.body.name).toBe(CATALOG_ENTRY);
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Server definitions" }).click();
      await page.getByRole("heading", { name: "Server definitions" }).waitFor();
      const row = page.getByRole("row").filter({ has: page.getByRole("rowheader", { name: CATALOG_ENTRY }) });
      await row.getByText("EVERYTHING_TOKEN* (secret)", { exact: false }).waitFor();
      await shot(page, "servers");
      expect(await pageHolds(page)).not.toContain(CATALOG_CANARY);
      // both containers run under this suite's owner label
      expect((await ownedContainers(OWNER)).length).toBeGreaterThanOrEqual(2);
    }, 240_000);

    it("a crashing instance: restarts and the reason show up live on its page and in the list", async () => {
      const name = `crash-${RUN}`;
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Create instance" }).click();
      await page.getByRole("radio", { name: "a spec (JSON)" }).check();
      await page.getByLabel("Name").fill(name);
      await page
        .getByLabel("json_spec")
        .fill(JSON.stringify({ type: "docker", image: podmanVars.MCPFLEET_TEST_IMAGE_EXIT, port: 3001 }));
      await page.getByRole("button", { name: "Create", exact: true }).click();
      await page.getByRole("heading", { name }).waitFor();
      const id = decodeURIComponent(new URL(page.url()).pathname.split("/").pop()!);
      created.push(id);
      // the page is not reloaded: what changes arrives over /v1/events
      await page.evaluate(() => Object.assign(window, { sameDocument: true }));
      await page.getByTestId("instance-status").locator('[data-status="failed"]').waitFor();
      const rest = (await host.call("GET", `/v1/mcp-server-instances/${id}`, { role: "viewer" })).body;
      expect(rest.status).toBe("failed");
      expect(rest.restart_count).toBeGreaterThanOrEqual(2);
      const restarts = String(rest.restart_count);
      expect(rest.status_reason).toMatch(/crash loop|exited|code 3/);
      await page
        .getByTestId("instance-restarts")
        .filter({ hasText: new RegExp(`^${restarts}$`) })
        .waitFor();
      expect(await page.locator('dt:text-is("Reason") + dd').textContent()).toBe(rest.status_reason);
      expect(await page.evaluate(() => (window as { sameDocument?: boolean }).sameDocument)).toBe(true);
      await shot(page, "crash-instance-failed");
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Instances" }).click();
      const row = page.locator(`tr[data-instance="${name}"]`);
      await row.locator('[data-status="failed"]').waitFor();
      expect(await row.getByTestId("restarts").textContent()).toBe(restarts);
      await row.getByRole("cell", { name: rest.status_reason, exact: true }).waitFor();
      await shot(page, "crash-in-list");
      expect(problems).toEqual([]);
    }, 240_000);
  },
);
