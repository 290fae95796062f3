// pnpm bench bus-nats: publish -> handler delivery through natsBus at 1,000 and 5,000 events/s and at the
// maximum, against a raw JetStream publish / consume / ack loop measured side by side in the same run.
// Loopback only (NATS_URL, default 127.0.0.1:4222); streams with unique names, deleted at the end.

import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { natsBus } from "@mcpfleet/bus-nats";
import { createEvent, type FleetEvent } from "@mcpfleet/core";
import type * as JetStream from "@nats-io/jetstream";
import type * as Transport from "@nats-io/transport-node";

// the NATS clients are dependencies of @mcpfleet/bus-nats, not of the root: resolve them from there
const fromBusNats = createRequire(new URL("../packages/bus-nats/package.json", import.meta.url));
const load = async <T>(name: string) => (await import(pathToFileURL(fromBusNats.resolve(name)).href)) as T;
const js = await load<typeof JetStream>("@nats-io/jetstream");
const transport = await load<typeof Transport>("@nats-io/transport-node");

const servers = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const MAX_EVENTS = Number(process.env.BENCH_MAX_EVENTS ?? 10_000);
const WINDOW = 256; // publishes in flight during the max run
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 3);
const RUNS = 3;
// fixed-rate repetitions: the p99 of one 3 s run swings by 2x on this 2-core machine, so take the median of several
const RATE_REPS = Number(process.env.BENCH_RATE_REPS ?? 4);
// file (default, what production uses) or memory stream storage, for both the bus and the raw loop
const STORAGE = process.env.BENCH_NATS_STORAGE === "memory" ? "memory" : "file";
const log = (...a: unknown[]) => console.error("[bench bus-nats]", ...a);
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

async function deleteStreams(names: string[]) {
  const nc = await transport.connect({ servers });
  const jsm = await js.jetstreamManager(nc);
  for (const n of names) await jsm.streams.delete(n).catch(() => false);
  await nc.close();
}

function names(id: string) {
  return {
    stream: `MCPFLEET_BENCH_${id}`,
    subjectPrefix: `mcpfleet-bench.${id}.events`,
    deadLetterSubject: `mcpfleet-bench.${id}.dead`,
  };
}

function busPipe(id: string): Pipe {
  const n = names(id);
  const pub = natsBus({ servers, ...n, storage: STORAGE });
  const sub = natsBus({ servers, ...n, storage: STORAGE });
  return {
    publish: (e) => pub.publish(e),
    consume: async (onEvent) => {
      await sub.subscribe({ group: "bench" }, (e) => onEvent(e));
    },
    close: async () => {
      await sub.close();
      await pub.close();
      await deleteStreams([n.stream, `${n.stream}_DEAD`]);
    },
  };
}

/** `msgId`: also set Nats-Msg-Id (server-side de-duplication, as the bus does). */
function rawPipe(id: string, msgId = false): Pipe {
  const n = names(id);
  const stream = `${n.stream}_RAW`;
  let pubConn: Transport.NatsConnection | undefined;
  let subConn: Transport.NatsConnection | undefined;
  let client: JetStream.JetStreamClient | undefined;
  let messages: JetStream.ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  return {
    publish: (e) =>
      (client as JetStream.JetStreamClient).publish(
        `${n.subjectPrefix}.${e.type}`,
        enc.encode(JSON.stringify(e)),
        msgId ? { msgID: e.id } : undefined,
      ),
    consume: async (onEvent) => {
      pubConn = await transport.connect({ servers });
      subConn = await transport.connect({ servers });
      const jsm = await js.jetstreamManager(subConn);
      await jsm.streams.add({
        name: stream,
        subjects: [`${n.subjectPrefix}.>`],
        storage: STORAGE === "memory" ? js.StorageType.Memory : js.StorageType.File,
      });
      await jsm.consumers.add(stream, {
        durable_name: "bench",
        ack_policy: js.AckPolicy.Explicit,
        deliver_policy: js.DeliverPolicy.New,
      });
      client = js.jetstream(pubConn);
      const consumer = await js.jetstream(subConn).consumers.get(stream, "bench");
      messages = await consumer.consume({ max_messages: 100 });
      loop = (async () => {
        for await (const m of messages as JetStream.ConsumerMessages) {
          onEvent(JSON.parse(dec.decode(m.data)));
          m.ack();
        }
      })();
    },
    close: async () => {
      await messages?.close();
      await loop;
      await pubConn?.close();
      await subConn?.close();
      await deleteStreams([stream]);
    },
  };
}

async function maxRun(make: (id: string) => Pipe): Promise<number> {
  const pipe = make(randomUUID().slice(0, 8));
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
  return MAX_EVENTS / secs;
}

async function rateRun(make: (id: string) => Pipe, rate: number): Promise<RateResult> {
  const pipe = make(randomUUID().slice(0, 8));
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
  return { p50: pct(lat, 50), p99: pct(lat, 99), failed, achieved: lat.length / ((performance.now() - start) / 1000) };
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

async function main() {
  const bus = (id: string) => busPipe(id);
  const raw = (id: string) => rawPipe(id);
  const rawDedupe = (id: string) => rawPipe(id, true);
  await maxRun(bus); // warm-up (JIT, connections)
  const busMax: number[] = [];
  const rawMax: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    rawMax.push(await maxRun(raw));
    busMax.push(await maxRun(bus));
    log(`run ${i + 1}: bus ${Math.round(busMax[i]!)} ev/s, raw ${Math.round(rawMax[i]!)} ev/s`);
  }
  // fixed rates, repeated and interleaved with the raw loop; medians of the per-run percentiles
  const r1k: RateResult[] = [];
  const r5k: RateResult[] = [];
  const raw5k: RateResult[] = [];
  const rawDedupe5k: RateResult[] = [];
  for (let i = 0; i < RATE_REPS; i++) {
    r1k.push(await rateRun(bus, 1000));
    raw5k.push(await rateRun(raw, 5000));
    rawDedupe5k.push(await rateRun(rawDedupe, 5000));
    r5k.push(await rateRun(bus, 5000));
    log(`rate rep ${i + 1}: 1k`, r1k[i], "5k", r5k[i], "raw 5k", raw5k[i], "raw+msgid 5k", rawDedupe5k[i]);
  }
  const med = (xs: RateResult[]) => ({
    p50: median(xs.map((x) => x.p50)),
    p99: median(xs.map((x) => x.p99)),
    failed: median(xs.map((x) => x.failed)),
  });
  const at1k = med(r1k);
  const at5k = med(r5k);
  const rawAt5k = med(raw5k);
  const rawDedupeAt5k = med(rawDedupe5k);
  const max = median(busMax);
  const rawMaxMedian = median(rawMax);
  console.log(
    JSON.stringify({
      bench: "bus-nats",
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
      // the raw loop with Nats-Msg-Id set too: what the server's de-duplication costs on its own
      raw_msgid_p50_ms_at_5k: round(rawDedupeAt5k.p50),
      raw_msgid_p99_ms_at_5k: round(rawDedupeAt5k.p99),
      failed_publishes_at_5k: at5k.failed,
      events_per_max_run: MAX_EVENTS,
      storage: STORAGE,
      runs: RUNS,
      rate_reps: RATE_REPS,
    }),
  );
}

await main();
