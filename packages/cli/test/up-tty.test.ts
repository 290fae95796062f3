import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeWith } from "@mcpfleet/core/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import {
  alive,
  BIN,
  descendants,
  EVERYTHING,
  ensureBuilt,
  REPO_ROOT,
  shellLine,
  tmuxAvailable,
  tmuxServer,
} from "./helpers.js";

// the built binary starts real servers in a terminal: generous under a loaded machine
vi.setConfig({ testTimeout: 240_000, hookTimeout: 300_000 });

const tmuxStatus = await tmuxAvailable();
const WAIT = { timeout: 120_000, interval: 100 };
const SESSION = "up";
const { tmux, screen, kill } = tmuxServer("up");
const ESC = "\x1b";

/**
 * `mcpfleet up` in a real terminal (a tmux pane): the progress block is redrawn in place on stderr (cursor up, clear
 * below), so the screen ends with one row per server in its final state; the bytes written to the terminal are kept
 * (`pipe-pane`) to see the states it went through. Ctrl-C typed into the terminal stops it and every server.
 * The plain, non-terminal output is asserted in up.test.ts.
 */
describeWith([tmuxStatus], "mcpfleet up on a terminal (tmux): progress redrawn in place, Ctrl-C", () => {
  beforeAll(() => ensureBuilt(), 300_000);
  afterAll(() => kill());

  it("shows each server's state as it comes up, ends with the final states and URLs; Ctrl-C stops everything", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpfleet-cli-up-tty-"));
    const file = join(dir, "claude_desktop_config.json");
    writeFileSync(
      file,
      JSON.stringify({
        mcpServers: {
          alpha: { command: "node", args: [EVERYTHING, "stdio"] },
          beta: { command: "node", args: [EVERYTHING, "stdio"] },
        },
      }),
    );
    const raw = join(dir, "terminal.raw");
    const command = shellLine([
      "env",
      `PATH=${process.env.PATH ?? "/usr/bin:/bin"}`,
      "XDG_CONFIG_HOME=/nonexistent-mcpfleet-test",
      process.execPath,
      BIN,
      "up",
      "-f",
      file,
      "--port",
      "0",
      "--data-dir",
      join(dir, "state"),
      "--allow-path",
      REPO_ROOT,
    ]);
    // the pane waits for a key so that its output is piped to the file from the first byte on
    tmux(
      "new-session",
      "-d",
      "-s",
      SESSION,
      "-x",
      "200",
      "-y",
      "50",
      "-c",
      dir,
      `read go; ${command}; echo "EXIT=$?"; sleep 600`,
    );
    tmux("pipe-pane", "-t", SESSION, "-o", `cat > ${shellLine([raw])}`);
    tmux("send-keys", "-t", SESSION, "Enter");
    await vi.waitFor(() => {
      const s = screen(SESSION);
      if (/EXIT=\d+/.test(s)) throw new Error(`up exited early:\n${s}`);
      expect(s).toContain("Ready. Press Ctrl-C to stop.");
    }, WAIT);

    // the terminal got the in-place redraw: clear-below, cursor up over the two-row block, rows with state marks
    const bytes = readFileSync(raw, "utf8");
    expect(bytes).toContain(`${ESC}[0J`);
    expect(bytes).toContain(`${ESC}[2A${ESC}[0J`);
    expect(bytes).toMatch(/… alpha \[created\] +(pending|provisioning|starting)\r?\n/);
    expect(bytes).toMatch(/✔ alpha \[created\] +running/);
    expect(bytes).toMatch(/✔ beta \[created\] +running/);

    // what the screen shows at the end: one row per server, in its final state, no stale intermediate rows
    const lines = screen(SESSION).split("\n");
    const rows = (name: string) => lines.filter((l) => l.includes(` ${name} [created]`));
    expect(rows("alpha")).toEqual([expect.stringMatching(/^ {2}✔ alpha \[created\] +running$/)]);
    expect(rows("beta")).toEqual([expect.stringMatching(/^ {2}✔ beta \[created\] +running$/)]);
    expect(lines.some((l) => /provisioning|starting/.test(l))).toBe(false);
    const aggregate = lines
      .map((l) => /^MCP endpoint[^:]*: (http:\/\/127\.0\.0\.1:\d+\/mcp)$/.exec(l)?.[1])
      .find(Boolean);
    expect(aggregate).toBeDefined();
    expect(lines).toContain(`  alpha: ${aggregate}/alpha`);
    expect(lines).toContain(`  beta: ${aggregate}/beta`);
    // the servers answer at the printed URL
    const client = new Client({ name: "cli-up-tty-test", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${aggregate}/alpha`)));
    const echoed = (await client.callTool({ name: "echo", arguments: { message: "from the tty test" } })) as {
      content: Array<{ text?: string }>;
    };
    expect(echoed.content.map((c) => c.text).join("")).toContain("from the tty test");
    await client.close();

    // Ctrl-C typed into the terminal: a clean exit (0), nothing of what up started is left
    const shell = Number(tmux("list-panes", "-t", SESSION, "-F", "#{pane_pid}").trim());
    const started = descendants(shell).filter((pid) => {
      try {
        return !readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("sleep");
      } catch {
        return false;
      }
    });
    expect(started.length).toBeGreaterThanOrEqual(3); // up and its two servers
    tmux("send-keys", "-t", SESSION, "C-c");
    await vi.waitFor(() => expect(screen(SESSION)).toMatch(/EXIT=\d+/), WAIT);
    const end = screen(SESSION);
    expect(end).toContain("mcpfleet: stopping servers...");
    expect(end).toContain("mcpfleet: stopped");
    expect(end).toContain("EXIT=0");
    await vi.waitFor(() => expect(started.filter(alive)).toEqual([]), { timeout: 15_000, interval: 100 });
  });
});
