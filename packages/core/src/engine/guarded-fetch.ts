import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { EndpointPolicy } from "./address-policy.js";

const AGENTS = new WeakMap<EndpointPolicy, { http: HttpAgent; https: HttpsAgent }>();

/** The subset of `fetch` the MCP SDK's client transports and the HTTP probe use. */
export type GuardedFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

function responseHeaders(raw: IncomingHttpHeaders): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) h.append(k, one);
  }
  return h;
}

/**
 * A response body as a web stream, fed from the Node stream's `data` events with backpressure
 * (paused past a few chunks, resumed on pull). A plain source instead of `Readable.toWeb`, which
 * costs several times as much per response, and the MCP client pipes every SSE answer through it.
 */
function webBody(res: IncomingMessage): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        res.on("data", (chunk: Buffer) => {
          if (settled) return;
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 0) <= 0) res.pause();
        });
        res.on("end", () => {
          if (settled) return;
          settled = true;
          controller.close();
        });
        const fail = (err?: Error) => {
          if (settled) return;
          settled = true;
          controller.error(err ?? new Error("the response ended early"));
        };
        res.on("error", fail);
        res.on("close", () => {
          if (!res.complete) fail();
        });
      },
      pull() {
        res.resume();
      },
      cancel() {
        settled = true;
        res.destroy();
      },
    },
    { highWaterMark: 8 },
  );
}

async function bodyBytes(body: RequestInit["body"]): Promise<Buffer | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (body instanceof Uint8Array) return Buffer.from(body);
  return Buffer.from(await new Response(body).arrayBuffer());
}

/**
 * A `fetch` over node:http(s) whose connections go through the endpoint policy: the URL's host is
 * checked, and a name is resolved by the policy's `lookup`, which refuses it when any address it
 * resolves to is refused, at connect time (DNS rebinding cannot switch it after the check).
 * Keep-alive sockets (idle ones do not hold the process open) stay connected to the address that
 * was checked; every new connection resolves and checks again.
 */
export function guardedFetch(policy: EndpointPolicy): GuardedFetch {
  let agents = AGENTS.get(policy);
  if (!agents) {
    const o = { keepAlive: true, maxSockets: 64, lookup: policy.lookup };
    agents = { http: new HttpAgent(o), https: new HttpsAgent(o) };
    AGENTS.set(policy, agents);
  }
  const { http, https } = agents;
  return async (input, init = {}) => {
    const href = input instanceof Request ? input.url : String(input);
    const url = policy.checkUrl(href, "endpoint");
    const headers: Record<string, string> = {};
    new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined)).forEach((v, k) => {
      headers[k] = v;
    });
    const method = (init.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const body = await bodyBytes(init.body);
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    return new Promise<Response>((resolve, reject) => {
      const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, {
        method,
        headers,
        agent: url.protocol === "https:" ? https : http,
        ...(signal ? { signal } : {}),
      });
      // headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK stall them
      req.on("socket", (socket) => socket.setNoDelay(true));
      req.on("response", (res) => {
        const status = res.statusCode ?? 502;
        const empty = method === "HEAD" || status === 204 || status === 304;
        if (empty) res.resume();
        resolve(
          new Response(empty ? null : webBody(res), {
            status,
            statusText: res.statusMessage ?? "",
            headers: responseHeaders(res.headers),
          }),
        );
      });
      req.on("error", reject);
      req.end(body);
    });
  };
}
