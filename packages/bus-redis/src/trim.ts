import { errorMessage } from "@mcpfleet/core/adapter";
import type { BusContext } from "./context.js";
import { minStreamId } from "./stream-id.js";

/**
 * Trims by age (XTRIM MINID) without dropping anything a group still needs: the cut is moved back
 * to the oldest pending entry of every group and to every group's last-delivered id (unread entries).
 */
export async function trimStream(ctx: BusContext): Promise<number> {
  const { cmd, stream, opts } = ctx;
  let minId = `${Math.max(0, Date.now() - opts.retentionMs)}-0`;
  let groups: unknown[][];
  try {
    groups = (await cmd.xinfo("GROUPS", stream)) as unknown[][];
  } catch (err) {
    if (errorMessage(err).includes("no such key")) return 0;
    throw err;
  }
  for (const row of groups) {
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < row.length; i += 2) info[String(row[i])] = row[i + 1];
    const name = String(info.name);
    const lastDelivered = String(info["last-delivered-id"] ?? "0-0");
    minId = minStreamId(minId, lastDelivered);
    if (Number(info.pending ?? 0) > 0) {
      const summary = (await cmd.xpending(stream, name)) as [number, string | null, string | null, unknown];
      if (summary[1]) minId = minStreamId(minId, summary[1]);
    }
  }
  const removed = (await cmd.xtrim(stream, "MINID", minId)) as number;
  if (removed > 0) ctx.logger.debug({ removed, minId }, "stream trimmed");
  return removed;
}
