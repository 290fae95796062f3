// pnpm bench bus-redis: publish -> handler delivery through redisBus at 1,000 and 5,000 events/s and at
// the maximum, against a raw ioredis XADD / XREADGROUP / XACK loop measured side by side in the same run.
// Loopback only (REDIS_URL, default 127.0.0.1:6379); keys under a unique prefix, deleted at the end.
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { redisBus } from "@mcpfleet/bus-redis";
import { createEvent, type FleetEvent } from "@mcpfleet/core";
import type { Redis as RedisClient } from "ioredis";

// ioredis is a dependency of @mcpfleet/bus-redis, not of the root: resolve it from there (the same copy the bus uses)
const fromBusRedis = createRequire(new URL("../packages/bus-redis/package.json", import.meta.url));
const { Redis } = (await import(pathToFileURL(fromBusRedis.resolve("ioredis")).href)) as {
  Redis: new (url: string, options?: Record<string, unknown>) => RedisClient;
};

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const MAX_EVENTS = Number(process.env.BENCH_MAX_EVENTS ?? 20_000);
const WINDOW = 256; // publishes in flight during the max run
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 3);
const RUNS = 5;
const log = (...a: unknown[]) => console.error("[bench bus-redis]", ...a);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface RateResult {
  p50: number;
  p99: number;
  /** Publishes refused (buffer full) or failed. */
  failed: number;
  /** Deliveries per second over the run. */
  achieved: number;
}

interface Pipe {
  publish(e: FleetEvent): Promise<unknown>;
  /** Installs the delivery callback; resolves once consuming. */
  consume(onEvent: (e: FleetEvent) => void): Promise<void>;
  close(): Promise<void>;
}

const payload = { json_spec: { type: "url", endpoint: "http://127.0.0.1:1/mcp", timeout: 30 }, name: "bench-instance" };
const mkEvent = (i: number) =>
  createEvent("MCPServerInstanceUpdated", `inst-${i % 100}`, { ...payload, generation: i, t: performance.now() });

async function deleteKeys(prefix: string) {
  const r = new Redis(url);
  let cursor = "0";
  do {
    const [next, keys] = await r.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
    cursor = next;
    if (keys.length) await r.del(...keys);
  } while (cursor !== "0");
  r.disconnect();
}

function busPipe(prefix: string): Pipe {
  const pub = redisBus({ url, prefix, trimIntervalMs: 0 });
  const sub = redisBus({ url, prefix, trimIntervalMs: 0 });
  return {
    publish: (e) => pub.publish(e),
    consume: async (onEvent) => {
      await sub.subscribe({ group: "bench" }, (e) => onEvent(e));
    },
    close: async () => {
      await sub.close();
      await pub.close();
    },
  };
}

function rawPipe(prefix: string): Pipe {
  const stream = `${prefix}raw`;
  const pub = new Redis(url, { enableAutoPipelining: true });
  const reader = new Redis(url);
  const acker = new Redis(url, { enableAutoPipelining: true });
  let stop = false;
  let loop: Promise<void> | undefined;
  return {
    publish: (e) => pub.xadd(stream, "*", "e", JSON.stringify(e)),
    consume: async (onEvent) => {
      await acker.xgroup("CREATE", stream, "bench", "$", "MKSTREAM");
      loop = (async () => {
        while (!stop) {
          const res = (await reader
            .xreadgroup("GROUP", "bench", "c", "COUNT", 100, "BLOCK", 200, "STREAMS", stream, ">")
            .catch(() => null)) as [string, [string, string[]][]][] | null;
          const entries = res?.[0]?.[1] ?? [];
          const ids: string[] = [];
          for (const [id, fields] of entries) {
            onEvent(JSON.parse(fields[1] as string));
            ids.push(id);
          }
          if (ids.length) void acker.xack(stream, "bench", ...ids);
        }
      })();
    },
    close: async () => {
      stop = true;
      await loop;
      pub.disconnect();
      reader.disconnect();
      acker.disconnect();
    },
  };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number) : Number.NaN;
};
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function waitFor(check: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("benchmark timed out waiting for deliveries");
    await sleep(2);
  }
}

/** Max throughput: N events with a bounded publish window; events/s from first publish to last delivery. */
async function maxRun(make: (prefix: string) => Pipe): Promise<number> {
  const prefix = `mcpfleet-bench:${randomUUID().slice(0, 8)}:`;
  const pipe = make(prefix);
  let delivered = 0;
  await pipe.consume(() => {
    delivered++;
  });
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: WINDOW }, async () => {
      while (next < MAX_EVENTS) await pipe.publish(mkEvent(next++));
    }),
  );
  await waitFor(() => delivered >= MAX_EVENTS, 60_000);
  const secs = (performance.now() - start) / 1000;
  await pipe.close();
  await deleteKeys(prefix);
  return MAX_EVENTS / secs;
}

/** Fixed rate: publishes paced on a 1 ms tick; latency = delivery time - publish time (same process clock). */
async function rateRun(make: (prefix: string) => Pipe, rate: number): Promise<RateResult> {
  const prefix = `mcpfleet-bench:${randomUUID().slice(0, 8)}:`;
  const pipe = make(prefix);
  const lat: number[] = [];
  await pipe.consume((e) => {
    lat.push(performance.now() - (e.data.t as number));
  });
  const total = Math.round(rate * RATE_SECONDS);
  const start = performance.now();
  let sent = 0;
  let failed = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
    while (sent < due) {
      pipe.publish(mkEvent(sent++)).catch((err: { code?: string; message?: string }) => {
        failed++; // BUFFER_FULL / BUS_UNAVAILABLE when the rate is beyond what the broker sustains here
        if (failed === 1) log("first publish failure:", err.code ?? "", err.message ?? String(err));
      });
    }
    await sleep(1);
  }
  await waitFor(() => lat.length + failed >= total, 60_000);
  await pipe.close();
  await deleteKeys(prefix);
  return { p50: pct(lat, 50), p99: pct(lat, 99), failed, achieved: lat.length / ((performance.now() - start) / 1000) };
}

async function main() {
  const bus = (p: string) => busPipe(p);
  const raw = (p: string) => rawPipe(p);
  await maxRun(bus); // warm-up (JIT, connections)
  const busMax: number[] = [];
  const rawMax: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    rawMax.push(await maxRun(raw));
    busMax.push(await maxRun(bus));
    log(`run ${i + 1}: bus ${Math.round(busMax[i]!)} ev/s, raw ${Math.round(rawMax[i]!)} ev/s`);
  }
  // fixed rates, repeated and interleaved with the raw loop; medians of the per-run percentiles
  const reps = 2;
  const r1k: RateResult[] = [];
  const r5k: RateResult[] = [];
  const raw5k: RateResult[] = [];
  for (let i = 0; i < reps; i++) {
    r1k.push(await rateRun(bus, 1000));
    raw5k.push(await rateRun(raw, 5000));
    r5k.push(await rateRun(bus, 5000));
    log(`rate rep ${i + 1}: 1k`, r1k[i], "5k", r5k[i], "raw 5k", raw5k[i]);
  }
  const med = (xs: RateResult[]) => ({
    p50: median(xs.map((x) => x.p50)),
    p99: median(xs.map((x) => x.p99)),
    failed: median(xs.map((x) => x.failed)),
  });
  const at1k = med(r1k);
  const at5k = med(r5k);
  const rawAt5k = med(raw5k);
  const max = median(busMax);
  const rawMaxMedian = median(rawMax);
  console.log(
    JSON.stringify({
      bench: "bus-redis",
      max_events_per_s: Math.round(max),
      raw_max_events_per_s: Math.round(rawMaxMedian),
      throughput_ratio: round(max / rawMaxMedian),
      // each bus run is paired with the raw run just before it: the median of those ratios is less load-sensitive
      paired_ratio_median: round(median(busMax.map((b, i) => b / (rawMax[i] as number)))),
      p50_ms_at_1k: round(at1k.p50),
      p99_ms_at_1k: round(at1k.p99),
      p50_ms_at_5k: round(at5k.p50),
      p99_ms_at_5k: round(at5k.p99),
      raw_p50_ms_at_5k: round(rawAt5k.p50),
      raw_p99_ms_at_5k: round(rawAt5k.p99),
      failed_publishes_at_5k: at5k.failed,
      events_per_max_run: MAX_EVENTS,
      runs: RUNS,
    }),
  );
}

await main();
