import { CliError, EXIT } from "../errors.js";
import type { Target } from "./credentials.js";

export interface Problem {
  code?: string;
  title?: string;
  status?: number;
  detail?: string;
  issues?: Array<{ path: string; message: string }>;
}

/** The host's problem+json as a CliError carrying its code (and issues). */
export async function problemError(res: Response): Promise<CliError> {
  const text = await res.text().catch(() => "");
  let p: Problem = {};
  try {
    p = JSON.parse(text) as Problem;
  } catch {
    p = {};
  }
  const code = typeof p.code === "string" ? p.code : `HTTP_${res.status}`;
  const detail = p.detail ?? p.title ?? (res.statusText || `HTTP ${res.status}`);
  return new CliError(code, detail, { status: res.status, issues: Array.isArray(p.issues) ? p.issues : [] });
}

/** A client of a host's REST API (the same operations the OpenAPI document lists). */
export class HostClient {
  constructor(readonly target: Target) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      accept: "application/json, application/problem+json",
      ...(this.target.apiKey ? { authorization: `Bearer ${this.target.apiKey}` } : {}),
      ...extra,
    };
  }

  /** The raw response of a request, refused (as a CliError) when the host is unreachable or answers >= 400. */
  async fetch(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.target.host}${path}`, {
        method,
        headers: this.headers({
          ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
          ...options.headers,
        }),
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      if ((err as Error).name === "AbortError") throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        "HOST_UNREACHABLE",
        `cannot reach ${this.target.host}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
        { exitCode: EXIT.UNAVAILABLE },
      );
    }
    if (res.status >= 400) throw await problemError(res);
    return res;
  }

  async json<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(method, path, body !== undefined ? { body } : {});
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

export const instancePath = (idOrName: string, rest = "") =>
  `/v1/mcp-server-instances/${encodeURIComponent(idOrName)}${rest}`;
