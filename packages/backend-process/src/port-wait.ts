import { connect } from "node:net";
import { backoffDelay, pause } from "@mcpfleet/core/adapter";

/** Resolves true once `host:port` accepts a TCP connection, false when `until()` says stop. */
export async function waitForPort(port: number, host: string, keepTrying: () => boolean): Promise<boolean> {
  for (let attempt = 0; keepTrying(); attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return true;
    await pause(backoffDelay(attempt, { baseMs: 20, maxMs: 250, jitter: "none" }));
  }
  return false;
}
