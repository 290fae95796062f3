import { FleetError } from "@mcpfleet/core";
import { throwIfAborted } from "@mcpfleet/core/adapter";
import type pg from "pg";

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "57P01", // admin_shutdown (server stopping, or the backend was terminated)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up)
  "53300", // too_many_connections
]);

const CONNECTION_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|terminating connection/i;

/** True when the error means "the database is not reachable right now". */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === "string" ? e.code : "";
  if (CONNECTION_CODES.has(code) || code.startsWith("08")) return true;
  return typeof e?.message === "string" && CONNECTION_MESSAGES.test(e.message);
}

/**
 * A pg error as a FleetError: unique violations are `ALREADY_EXISTS` (path from the constraint),
 * serialization failures `CONFLICT`, connection failures retryable `STORE_UNAVAILABLE`, values
 * JSON or jsonb cannot hold `SPEC_INVALID`. Messages carry the SQLSTATE, never row data.
 */
export function translate(err: unknown, adapter: string, what: string): FleetError {
  if (FleetError.isInstance(err)) return err;
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown };
  const code = typeof e?.code === "string" ? e.code : undefined;
  if (code === "23505") {
    const constraint = typeof e.constraint === "string" ? e.constraint : "";
    const path = constraint.includes("name") ? "name" : "id";
    return new FleetError("ALREADY_EXISTS", `[mcpfleet/${adapter}] ${what}: a document with this ${path} exists`, {
      path,
      isRetryable: false,
      cause: err,
    });
  }
  if (code === "40001" || code === "40P01") {
    return new FleetError("CONFLICT", `[mcpfleet/${adapter}] ${what}: concurrent transaction (${code})`, {
      isRetryable: true,
      cause: err,
    });
  }
  if (code === "22P05" || code === "22P02" || code === "54001" || code === "2202E") {
    return new FleetError("SPEC_INVALID", `[mcpfleet/${adapter}] ${what}: the document cannot be stored (${code})`, {
      isRetryable: false,
      cause: err,
    });
  }
  if (isConnectionError(err)) {
    return new FleetError("STORE_UNAVAILABLE", `[mcpfleet/${adapter}] ${what}: database unreachable`, {
      isRetryable: true,
      cause: err,
    });
  }
  const msg = typeof e?.message === "string" ? e.message.split("\n")[0] : String(err);
  return new FleetError("INTERNAL", `[mcpfleet/${adapter}] ${what} failed${code ? ` (${code})` : ""}: ${msg}`, {
    cause: err,
  });
}

/**
 * Runs a database call with an AbortSignal: aborted before it starts, or while it runs (the caller
 * gets `ABORTED` at once; the statement itself finishes or fails on the server).
 */
export async function withSignal<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  throwIfAborted(signal);
  if (!signal) return fn();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new FleetError("ABORTED", "operation aborted", { cause: signal.reason }));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  const work = fn();
  work.catch(() => {}); // an abort leaves it running; its error is not unhandled
  try {
    return await Promise.race([work, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

/**
 * A pooled connection checked out for a multi-statement unit (migrations, a transaction). While
 * checked out, the pool's own idle-error listener is off, and a connection that dies (server restart,
 * `pg_terminate_backend`, `DROP DATABASE … WITH (FORCE)`) emits 'error' on the client, which is
 * fatal to the process without a listener; the running query rejects anyway. `release` removes the
 * listener and discards a connection that failed.
 */
export async function checkout(pool: pg.Pool): Promise<{
  client: pg.PoolClient;
  release(broken: boolean): void;
}> {
  const client = await pool.connect();
  let failed = false;
  const onError = () => {
    failed = true;
  };
  client.on("error", onError);
  return {
    client,
    release(broken) {
      client.off("error", onError);
      client.release(broken || failed);
    },
  };
}
