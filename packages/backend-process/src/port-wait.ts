import { connect } from "node:net";

/** Resolves true once `host:port` accepts a TCP connection, false when `until()` says stop. */
export async function waitForPort(port: number, host: string, keepTrying: () => boolean): Promise<boolean> {
  let delay = 20;
  while (keepTrying()) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return true;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
  return false;
}
