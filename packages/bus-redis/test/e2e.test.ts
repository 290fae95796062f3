import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fileStore } from "@mcpfleet/core";
import { type Child, describeWith, runChild } from "@mcpfleet/core/testing";
import { afterEach, expect, it } from "vitest";
import { deleteKeys, REDIS_URL, redisService, testPrefix, until } from "./helpers.js";

const redis = await redisService();
const WORKER = fileURLToPath(new URL("./fixtures/e2e-worker.ts", import.meta.url));
const API = fileURLToPath(new URL("./fixtures/e2e-api.ts", import.meta.url));
const COUNT = 500;

describeWith(
  [redis],
  "end to end: api + 3 worker processes on redisBus and a shared fileStore with fenced leases",
  () => {
    const children: Child[] = [];
    const cleanup: (() => Promise<void> | void)[] = [];
    afterEach(async () => {
      for (const c of children.splice(0)) await c.kill("SIGKILL");
      for (const c of cleanup.splice(0)) await c();
    });

    it(`a worker SIGKILLed while ${COUNT} instances are created: every instance converges to running exactly once`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "mcpfleet-e2e-"));
      const prefix = testPrefix("e2e");
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      cleanup.push(() => deleteKeys(prefix));
      const env = { REDIS_URL, PREFIX: prefix, STORE_PATH: join(dir, "store.json") };
      const workers = ["w1", "w2", "w3"].map((id) => runChild(WORKER, { ...env, WORKER_ID: id }));
      children.push(...workers);
      await Promise.all(workers.map((w) => w.waitFor((l) => l.ready === true, 60_000)));
      const api = runChild(API, { ...env, COUNT: String(COUNT) });
      children.push(api);
      await api.waitFor((l) => typeof l.created === "number" && l.created >= 100, 60_000);
      const victim = workers[0]!;
      await victim.kill("SIGKILL");
      await api.waitFor((l) => l.done === true, 120_000);

      const store = fileStore({ path: env.STORE_PATH });
      cleanup.push(() => store.close());
      let last = "";
      await until(
        "all instances running",
        async () => {
          const all = await store.instances.list();
          const byStatus: Record<string, number> = {};
          for (const i of all) byStatus[i.status] = (byStatus[i.status] ?? 0) + 1;
          last = JSON.stringify(byStatus);
          return all.length === COUNT && all.every((i) => i.status === "running");
        },
        120_000,
      ).catch((err) => {
        throw new Error(`${(err as Error).message}; statuses ${last}`);
      });

      const instances = await store.instances.list();
      const survivors = workers.slice(1);
      const deploysBy = new Map<string, string[]>();
      for (const w of workers) {
        for (const l of w.lines) {
          if (typeof l.deployed !== "string") continue;
          deploysBy.set(l.deployed, [...(deploysBy.get(l.deployed) ?? []), l.worker as string]);
        }
      }
      let redeployedAfterKill = 0;
      const doubles: string[] = [];
      for (const inst of instances) {
        const by = deploysBy.get(inst.id) ?? [];
        // owned by the worker that deployed it; no live worker deployed it twice, no two live workers both did
        expect(by).toContain(inst.observed_by);
        const live = by.filter((w) => w !== "w1");
        if (live.length > 1) doubles.push(`${inst.id}:${by.join(",")}`);
        if (by.includes("w1") && live.length === 1) redeployedAfterKill++;
      }
      const perWorker = Object.fromEntries(
        workers.map((w, i) => [`w${i + 1}`, w.lines.filter((l) => typeof l.deployed === "string").length]),
      );
      console.log(
        `[e2e] ${COUNT} instances running; deploys per worker ${JSON.stringify(perWorker)}; taken over from the killed worker: ${redeployedAfterKill}; survivors alive: ${survivors.every((w) => w.proc.exitCode === null)}`,
      );
      expect(survivors.every((w) => w.proc.exitCode === null)).toBe(true);
      expect(doubles).toEqual([]);
    }, 300_000);
  },
);
