import type { IncomingHttpHeaders } from "node:http";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

/** A pass-through HTTP proxy in front of a real server that records the request headers it saw. */
export async function recordingProxy(upstreamPort: number) {
  const seen: IncomingHttpHeaders[] = [];
  /** The request bodies it passed on (JSON-RPC POSTs), as text. */
  const bodies: string[] = [];
  const stats = { abortedByClient: 0 };
  const server = createServer((req, res) => {
    seen.push(req.headers);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => chunks.length > 0 && bodies.push(Buffer.concat(chunks).toString()));
    const up = request(
      { host: "127.0.0.1", port: upstreamPort, path: req.url, method: req.method, headers: req.headers },
      (ures) => {
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        ures.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    res.on("close", () => {
      if (!res.writableFinished) stats.abortedByClient++;
      up.destroy();
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    seen,
    bodies,
    stats,
    /** Drops every open connection (requests in flight break). */
    dropConnections: () => server.closeAllConnections(),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
