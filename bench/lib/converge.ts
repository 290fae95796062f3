import type { Fleet } from "@mcpfleet/core";

/**
 * Creates `n` instances one after the other and waits until every one has reported running;
 * returns the seconds that took. The fleet must already be started.
 */
export async function convergeAll(fleet: Fleet, n: number, spec: (i: number) => unknown): Promise<number> {
  let running = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  fleet.subscribe((e) => {
    if (e.type === "MCPServerInstanceStatusChanged" && e.data.status === "running" && ++running === n) resolveAll();
  });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fleet.instances.create({ name: `i${i}`, json_spec: spec(i) as never });
  await all;
  return (performance.now() - t0) / 1000;
}

/** Milliseconds of `rounds` full resync passes, one after the other. */
export async function timeResyncs(fleet: Fleet, rounds: number): Promise<number[]> {
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    await fleet.resync();
    out.push(performance.now() - t);
  }
  return out;
}
