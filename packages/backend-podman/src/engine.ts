import type Dockerode from "dockerode";

/** A dockerode/docker-modem error carries the HTTP status. */
export function statusOf(err: unknown): number | undefined {
  if (typeof err === "object" && err !== null && "statusCode" in err) {
    const code = (err as { statusCode?: unknown }).statusCode;
    return typeof code === "number" ? code : undefined;
  }
  return undefined;
}

/**
 * "Gone" answers: 404, or Podman's 500 "no such container" when a container disappears while it is
 * being inspected or removed concurrently.
 */
export function isGone(err: unknown): boolean {
  const status = statusOf(err);
  if (status === 404) return true;
  return status === 500 && /no such (container|object|secret)/i.test(engineMessage(err));
}

/** Engine message from an error, without the request (which may hold data). */
export function engineMessage(err: unknown): string {
  if (typeof err === "object" && err !== null) {
    const json = (err as { json?: unknown }).json;
    if (typeof json === "object" && json !== null && typeof (json as { message?: unknown }).message === "string") {
      return (json as { message: string }).message;
    }
    if (err instanceof Error) return err.message;
  }
  return String(err);
}

export interface DialOptions {
  path: string;
  method: "GET" | "POST" | "DELETE";
  body?: unknown;
  query?: Record<string, string | number | boolean>;
  statusCodes: Record<number, true | string>;
  signal?: AbortSignal;
}

/** A raw API call through dockerode's modem (for libpod endpoints dockerode does not wrap). */
export function dial<T>(client: Dockerode, options: DialOptions): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    client.modem.dial(
      {
        // docker-modem appends `_query` when the path ends with "?" and sends `_body` as JSON on POST
        path: options.query ? `${options.path}?` : options.path,
        method: options.method,
        options: {
          ...(options.query ? { _query: options.query } : {}),
          ...(options.body === undefined ? {} : { _body: options.body }),
        },
        statusCodes: options.statusCodes,
        abortSignal: options.signal,
      } as never,
      (err: unknown, data: unknown) => (err ? reject(err) : resolve(data as T)),
    );
  });
}

export interface EngineInfo {
  podman: boolean;
  /** Podman version (`4.3.1`) or Docker engine version. */
  version: string;
}

export async function engineInfo(client: Dockerode, signal?: AbortSignal): Promise<EngineInfo> {
  const v = await dial<{ Version?: string; Components?: { Name?: string; Version?: string }[] }>(client, {
    path: "/version",
    method: "GET",
    statusCodes: { 200: true, 500: "server error" },
    ...(signal ? { signal } : {}),
  });
  const podman = v.Components?.find((c) => /podman/i.test(c.Name ?? ""));
  return { podman: Boolean(podman), version: podman?.Version ?? v.Version ?? "0" };
}

/** `a >= b` for dotted versions. */
export function versionAtLeast(version: string, min: string): boolean {
  const a = version.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const b = min.split(".").map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < b.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}
