import { resolveTarget } from "../client/credentials.js";
import { HostClient } from "../client/rest.js";
import type { Io } from "../output.js";

/** Flags every remote command takes. */
export interface RemoteArgs {
  host?: string | undefined;
  config?: string | undefined;
  json?: boolean | undefined;
}

export interface Ctx {
  io: Io;
  client: HostClient;
  json: boolean;
  signal: AbortSignal;
}

export async function remoteContext(args: RemoteArgs, io: Io, signal: AbortSignal): Promise<Ctx> {
  const target = await resolveTarget({ host: args.host, config: args.config });
  return { io, client: new HostClient(target), json: args.json === true, signal };
}
