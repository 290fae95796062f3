import type { Logger } from "@mcpfleet/core";
import type { Redis } from "ioredis";
import type { ResolvedRedisBusOptions } from "./options.js";

/** What the bus shares with its consumers. */
export interface BusContext {
  /** Non-blocking commands (XADD, XACK, XCLAIM, ...). */
  cmd: Redis;
  /** A new connection for one blocking reader; the caller disconnects it. */
  connect(): Redis;
  opts: ResolvedRedisBusOptions;
  stream: string;
  deadStream: string;
  logger: Logger;
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Resolves with `p`, or with `fallback` after `ms` (the promise keeps running). */
export async function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
