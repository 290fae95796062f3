import { FleetError } from "../errors.js";

export interface BackoffOptions {
  /** Delay of attempt 0 before jitter (default 100 ms). */
  baseMs?: number;
  /** Upper bound of any delay (default 30 s). */
  maxMs?: number;
  /**
   * `"full"` (default): uniform in `[0, min(max, base * 2^attempt)]` (AWS "full jitter").
   * `"none"`: the exponential value itself. A number in `[0, 1]`: that fraction is randomized
   * (`0.2` means +-0 .. -20 %).
   */
  jitter?: "full" | "none" | number;
  /** Random source in `[0, 1)`, for tests (default `Math.random`). */
  random?: () => number;
}

/** Exponential backoff with jitter. `attempt` starts at 0; negative or non-finite counts as 0. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = Math.max(0, options.baseMs ?? 100);
  const max = Math.max(0, options.maxMs ?? 30_000);
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  // 2^n overflows to Infinity past 1023; min() caps it.
  const exp = Math.min(max, base * 2 ** Math.min(n, 1023));
  const random = options.random ?? Math.random;
  const jitter = options.jitter ?? "full";
  if (jitter === "none") return exp;
  if (jitter === "full") return Math.floor(random() * exp);
  const f = Math.min(1, Math.max(0, jitter));
  return Math.floor(exp * (1 - f * random()));
}

function abortError(signal: AbortSignal): FleetError {
  return new FleetError("ABORTED", "operation aborted", { cause: signal.reason, isRetryable: false });
}

/** Resolves after `ms`; rejects with `FleetError` `ABORTED` as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      },
      Math.max(0, Number.isFinite(ms) ? ms : 0),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T | PromiseLike<T>): void;
  reject(reason?: unknown): void;
  /** True once resolve or reject was called. */
  readonly settled: boolean;
}

/** A promise with its resolve/reject exposed. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (reason?: unknown) => void;
  let settled = false;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return {
    promise,
    resolve(v) {
      settled = true;
      resolve(v);
    },
    reject(r) {
      settled = true;
      reject(r);
    },
    get settled() {
      return settled;
    },
  };
}

/** Settles with `promise`, or rejects with `ABORTED` as soon as `signal` aborts (the promise itself is not cancelled). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  // the caller may stop listening (abort); the underlying promise must not become an unhandled rejection
  promise.catch(() => {});
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
