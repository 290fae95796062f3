/**
 * spec-validate: parse the seed `instance-spec-docker-full.json` with `parseInstanceSpec` and
 * validate its environment against the seed `env-schema.json` with `validateEnvironment`.
 * Baseline (same run, same object): `JSON.parse(JSON.stringify(spec))` plus a hand-written
 * minimal check of the fields. `ops_per_s` re-validates the same document (what the engine does
 * on every reconcile/probe, served by the parse memo); `cold_ops_per_s` parses a different
 * document each call (full zod validation). Prints one JSON line; progress on stderr.
 */
import { readFileSync } from "node:fs";
import { parseInstanceSpec, validateEnvironment } from "@mcpfleet/core";

const seeds = new URL("../packages/core/test/fixtures/seeds/", import.meta.url);
const spec = JSON.parse(readFileSync(new URL("instance-spec-docker-full.json", seeds), "utf8")) as Record<
  string,
  unknown
>;
const envSchema = JSON.parse(readFileSync(new URL("env-schema.json", seeds), "utf8")) as unknown[];

let sink = 0;

function subject(): void {
  const parsed = parseInstanceSpec(spec) as { environment: Record<string, string> };
  const { env } = validateEnvironment(envSchema, parsed.environment);
  sink += Object.keys(env).length;
}

/** Cold path: a different document every call (the parse memo never hits). */
const variants = Array.from({ length: 2048 }, (_, i) => ({ ...spec, port: 1024 + i }));
let v = 0;
function cold(): void {
  const parsed = parseInstanceSpec(variants[v++ & 2047]) as { environment: Record<string, string> };
  const { env } = validateEnvironment(envSchema, parsed.environment);
  sink += Object.keys(env).length;
}

/** Minimal hand-written check: copy + the checks a careless integration would do. */
function baseline(): void {
  const s = JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
  if (s.type !== "docker" && s.type !== "container") throw new Error("type");
  if (typeof s.image !== "string" || s.image.length === 0) throw new Error("image");
  if (typeof s.port !== "number" || !Number.isInteger(s.port) || s.port < 1 || s.port > 65535) throw new Error("port");
  const env = s.environment as Record<string, unknown>;
  if (typeof env !== "object" || env === null) throw new Error("environment");
  for (const k of Object.keys(env)) if (typeof env[k] !== "string") throw new Error(k);
  if (!Array.isArray(s.command) || !s.command.every((c) => typeof c === "string")) throw new Error("command");
  const out: Record<string, string> = {};
  for (const k of Object.keys(env)) out[k] = String(env[k]);
  if (out.MAX_CONNECTIONS === undefined) out.MAX_CONNECTIONS = "10";
  if (!/^-?\d+$/.test(out.MAX_CONNECTIONS)) throw new Error("MAX_CONNECTIONS");
  sink += Object.keys(out).length;
}

function opsPerSecond(fn: () => void, ms: number): number {
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
    now = performance.now();
  }
  return n / ((now - start) / 1000);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 700);
opsPerSecond(subject, 300);
opsPerSecond(baseline, 300);
const a: number[] = [];
const b: number[] = [];
const c: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  a.push(opsPerSecond(subject, ROUND_MS));
  b.push(opsPerSecond(baseline, ROUND_MS));
  c.push(opsPerSecond(cold, ROUND_MS / 2));
  process.stderr.write(
    `round ${r + 1}/${ROUNDS}: spec-validate ${Math.round(a[r] as number)} ops/s, baseline ${Math.round(b[r] as number)} ops/s\n`,
  );
}
const ops = median(a);
const base = median(b);
process.stdout.write(
  `${JSON.stringify({
    bench: "spec-validate",
    ops_per_s: Math.round(ops),
    baseline_ops_per_s: Math.round(base),
    ratio: Number((ops / base).toFixed(3)),
    us_per_op: Number((1e6 / ops).toFixed(3)),
    cold_ops_per_s: Math.round(median(c)),
    cold_ratio: Number((median(c) / base).toFixed(3)),
    target_ops_per_s: 200000,
    rounds: ROUNDS,
    round_ms: ROUND_MS,
    sink: sink > 0,
  })}\n`,
);
