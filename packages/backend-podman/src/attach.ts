import { request as httpRequest } from "node:http";
import type { Socket } from "node:net";
import { PassThrough } from "node:stream";
import { FleetError } from "@mcpfleet/core";
import type Dockerode from "dockerode";

export interface AttachedStdio {
  /** Writes go to the container's stdin. */
  stdin: Socket;
  /** The container's stdout (demultiplexed); ends when the attach stream ends. */
  stdout: PassThrough;
  close(): void;
}

/**
 * Attaches to a container's stdin/stdout with a raw HTTP upgrade. dockerode's `attach` sends its
 * options as a JSON body, which Podman's compat endpoint feeds into the container's stdin
 * (apocas/dockerode#742), corrupting a JSON-RPC stream; this request has no body.
 */
export function attachStdio(client: Dockerode, container: string, signal?: AbortSignal): Promise<AttachedStdio> {
  const modem = client.modem as unknown as { socketPath?: string; host?: string; port?: number; protocol?: string };
  if (modem.protocol === "https") {
    return Promise.reject(
      new FleetError("UNSUPPORTED", "[mcpfleet/backend-podman] stdio attach over https is not supported"),
    );
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      ...(modem.socketPath ? { socketPath: modem.socketPath } : { host: modem.host, port: modem.port }),
      method: "POST",
      path: `/containers/${encodeURIComponent(container)}/attach?stream=1&stdin=1&stdout=1&stderr=1`,
      headers: { Connection: "Upgrade", Upgrade: "tcp" },
      ...(signal ? { signal } : {}),
    });
    req.on("upgrade", (_res, socket: Socket, head: Buffer) => {
      const stdout = new PassThrough();
      let pending: Buffer = head.length ? Buffer.from(head) : Buffer.alloc(0);
      const feed = (chunk: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        while (pending.length >= 8) {
          const size = pending.readUInt32BE(4);
          if (pending.length < 8 + size) break;
          if (pending[0] === 1) stdout.write(Buffer.from(pending.subarray(8, 8 + size)));
          pending = pending.subarray(8 + size);
        }
      };
      socket.on("data", feed);
      socket.on("end", () => stdout.end());
      socket.on("close", () => stdout.end());
      socket.on("error", () => stdout.end());
      if (pending.length) feed(Buffer.alloc(0));
      resolve({
        stdin: socket,
        stdout,
        close: () => {
          socket.destroy();
          stdout.end();
        },
      });
    });
    req.on("response", (res) => {
      res.resume();
      reject(
        new FleetError(
          "DEPLOY_FAILED",
          `[mcpfleet/backend-podman] attach to ${container} refused: HTTP ${res.statusCode}`,
        ),
      );
    });
    req.on("error", (err) =>
      reject(
        new FleetError("RUNTIME_UNAVAILABLE", `[mcpfleet/backend-podman] attach to ${container}: ${err.message}`, {
          cause: err,
        }),
      ),
    );
    req.end();
  });
}
