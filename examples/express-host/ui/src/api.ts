/** The host's REST API with the logged-in key: every call the dashboard makes goes through here. */

export type Role = "viewer" | "operator" | "admin";
const ROLES: Role[] = ["viewer", "operator", "admin"];

export function roleAllows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** An application/problem+json answer (or a network failure) as an Error. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
    readonly issues: Array<{ path: string; message: string }> = [],
  ) {
    super(message);
  }
}

const KEY = "mcpfleet.apiKey";

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  save: (key: string) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
};

export function authHeaders(key = session.key()): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

async function problem(res: Response): Promise<ApiError> {
  let body: any;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const detail = body?.detail ?? body?.title ?? res.statusText ?? `HTTP ${res.status}`;
  return new ApiError(String(detail), res.status, body?.code, Array.isArray(body?.issues) ? body.issues : []);
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  key?: string;
}

export async function api<T = any>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json", ...authHeaders(options.key ?? session.key()) };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method: options.method ?? "GET",
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!res.ok) throw await problem(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** Opens a streaming GET (logs, events) with the key in the Authorization header; throws the problem on 4xx/5xx. */
export async function openStream(path: string, signal: AbortSignal, headers: Record<string, string> = {}) {
  const res = await fetch(path, {
    headers: { accept: "text/event-stream", ...authHeaders(), ...headers },
    signal,
    cache: "no-store",
  });
  if (!res.ok) throw await problem(res);
  if (!res.body) throw new ApiError("the response has no body", res.status);
  return res.body;
}

export interface Instance {
  id: string;
  name: string;
  description?: string;
  server_spec_id?: string | null;
  json_spec: Record<string, unknown> & { type: string };
  status: string;
  status_reason?: string | null;
  desired_state: string;
  generation: number;
  observed_generation: number;
  restart_count: number;
  endpoint?: string | null;
  created_at: string;
  updated_at: string;
}

export interface Tool {
  name: string;
  title?: string;
  description?: string;
  inputSchema?: JsonSchema;
}

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
}

export const INSTANCES = "/v1/mcp-server-instances";
export const instancePath = (id: string) => `${INSTANCES}/${encodeURIComponent(id)}`;
