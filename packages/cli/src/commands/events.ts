import { fleetEvents } from "../client/sse.js";
import type { Ctx } from "./context.js";

interface FleetEventJson {
  type: string;
  time: string;
  subject: string;
  data: { name?: string; status?: string; previous_status?: string; status_reason?: string | null };
}

/** `GET /v1/events`: the buffered events, or with `-f` the live stream (resumed with Last-Event-ID after a drop). */
export async function events(ctx: Ctx, args: { follow?: boolean; instance?: string[] }): Promise<void> {
  const q = new URLSearchParams();
  for (const i of args.instance ?? []) q.append("instance", i);
  const stream = fleetEvents(ctx.client, q, {
    follow: args.follow === true,
    signal: ctx.signal,
    onReconnect: (n, last, why) =>
      ctx.io.err(`mcpfleet: event stream lost (${why}); reconnecting (attempt ${n}, after id ${last ?? "-"})\n`),
  });
  for await (const f of stream) {
    if (f.event === "reset") {
      if (ctx.json) ctx.io.out(`${JSON.stringify({ reset: JSON.parse(f.data) })}\n`);
      else ctx.io.err("mcpfleet: some events were missed (the host's buffer moved on); reload state with `ls`\n");
      continue;
    }
    if (ctx.json) {
      // `cursor`: the stream's id (Last-Event-ID); `id` stays the CloudEvents id
      ctx.io.out(`${JSON.stringify({ cursor: f.id === undefined ? null : Number(f.id), ...JSON.parse(f.data) })}\n`);
      continue;
    }
    const e = JSON.parse(f.data) as FleetEventJson;
    const what =
      e.type === "MCPServerInstanceStatusChanged"
        ? `${e.data.previous_status ?? "?"} -> ${e.data.status}${e.data.status_reason ? ` (${e.data.status_reason})` : ""}`
        : e.type.replace(/^MCPServer(Instance)?/, "").toLowerCase();
    ctx.io.out(`${e.time}  ${(e.data.name ?? e.subject).padEnd(20)}  ${what}\n`);
  }
}
