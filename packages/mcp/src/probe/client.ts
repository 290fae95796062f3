import type { Transport as FleetTransport } from "@mcpfleet/core";
import { FleetError } from "@mcpfleet/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";

export interface McpTarget {
  endpoint: string;
  /** `streamable-http` (default) or `sse`. */
  transport?: Exclude<FleetTransport, "stdio">;
  /** Upstream headers (credentials). Never logged. */
  headers?: Record<string, string>;
  /** `fetch` for every request (a user-supplied endpoint passes core's `guardedFetch(policy)`). */
  fetch?: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
}

export interface McpCallOptions {
  signal?: AbortSignal;
  /** Per-request timeout (default 10000 ms). */
  timeoutMs?: number;
  clientInfo?: { name: string; version: string };
}

/** Connects an SDK client (initialize done) to a target. The caller closes it. */
export async function connectClient(target: McpTarget, options: McpCallOptions = {}): Promise<Client> {
  const url = new URL(target.endpoint);
  const requestInit: RequestInit = { headers: target.headers ?? {} };
  const doFetch = target.fetch ?? fetch;
  const transport =
    target.transport === "sse"
      ? new SSEClientTransport(url, {
          requestInit,
          ...(target.fetch ? { fetch: target.fetch } : {}),
          eventSourceInit: {
            fetch: (u, init) =>
              doFetch(u, {
                ...init,
                headers: { ...(init?.headers as Record<string, string>), ...(target.headers ?? {}) },
              }),
          },
        })
      : new StreamableHTTPClientTransport(url, { requestInit, ...(target.fetch ? { fetch: target.fetch } : {}) });
  const client = new Client(options.clientInfo ?? { name: "mcpfleet", version: "0.1.0" }, { capabilities: {} });
  await client.connect(transport, { signal: options.signal, timeout: options.timeoutMs ?? 10_000 });
  return client;
}

/** Closes a client, ending its Streamable HTTP session (DELETE) when it has one. */
export async function closeClient(client: Client): Promise<void> {
  const transport = client.transport;
  if (transport instanceof StreamableHTTPClientTransport && transport.sessionId) {
    await transport.terminateSession().catch(() => {});
  }
  await client.close().catch(() => {});
}

/** `tools/list` (all pages) of an MCP endpoint. */
export async function listTools(target: McpTarget, options: McpCallOptions = {}): Promise<Tool[]> {
  let client: Client | undefined;
  try {
    client = await connectClient(target, options);
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, {
        signal: options.signal,
        timeout: options.timeoutMs ?? 10_000,
      });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  } catch (err) {
    if (FleetError.isInstance(err)) throw err;
    if (options.signal?.aborted) throw new FleetError("ABORTED", "tools/list aborted", { cause: err });
    throw new FleetError("RUNTIME_UNAVAILABLE", `tools/list failed: ${(err as Error).message}`, { cause: err });
  } finally {
    if (client) await closeClient(client);
  }
}
