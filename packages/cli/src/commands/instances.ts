import { instancePath } from "../client/rest.js";
import { json, table } from "../output.js";
import type { Ctx } from "./context.js";

interface InstanceView {
  id: string;
  name: string;
  status: string;
  status_reason?: string | null;
  desired_state?: string;
  restart_count?: number;
  json_spec?: { type?: string };
  updated_at?: string;
  [k: string]: unknown;
}

const row = (i: InstanceView) => ({
  ...i,
  type: i.json_spec?.type,
  restarts: i.restart_count ?? 0,
  reason: i.status_reason,
});

const COLUMNS: Array<[string, string]> = [
  ["name", "name"],
  ["id", "id"],
  ["type", "type"],
  ["status", "status"],
  ["desired", "desired_state"],
  ["restarts", "restarts"],
  ["reason", "reason"],
];

export async function ls(ctx: Ctx, args: { status?: string | undefined }): Promise<void> {
  const all: InstanceView[] = [];
  let cursor: string | undefined;
  do {
    const q = new URLSearchParams({ limit: "1000" });
    if (args.status) q.set("status", args.status);
    if (cursor) q.set("cursor", cursor);
    const res = await ctx.client.fetch("GET", `/v1/mcp-server-instances?${q}`, { signal: ctx.signal });
    all.push(...((await res.json()) as InstanceView[]));
    cursor = res.headers.get("x-next-cursor") ?? undefined;
  } while (cursor);
  if (ctx.json) ctx.io.out(json(all));
  else if (all.length === 0) ctx.io.err("no instances\n");
  else ctx.io.out(table(all.map(row), COLUMNS));
}

export async function get(ctx: Ctx, args: { instance: string }): Promise<void> {
  const i = await ctx.client.json<InstanceView>("GET", instancePath(args.instance));
  if (ctx.json) {
    ctx.io.out(json(i));
    return;
  }
  const lines = [
    ["name", i.name],
    ["id", i.id],
    ["status", i.status],
    ["reason", i.status_reason ?? "-"],
    ["desired", i.desired_state ?? "-"],
    ["restarts", String(i.restart_count ?? 0)],
    ["updated", i.updated_at ?? "-"],
  ];
  const w = Math.max(...lines.map(([k]) => k!.length));
  ctx.io.out(`${lines.map(([k, v]) => `${k!.padEnd(w)}  ${v}`).join("\n")}\nspec (secrets as refs):\n`);
  ctx.io.out(json(i.json_spec ?? {}));
}

/** start | stop: the host answers 202 with the instance; `--wait` polls its status until it settles. */
export async function lifecycle(ctx: Ctx, action: "start" | "stop", args: { instance: string }): Promise<void> {
  const i = await ctx.client.json<InstanceView>("POST", instancePath(args.instance, `/${action}`));
  if (ctx.json) ctx.io.out(json(i));
  else
    ctx.io.out(`${i.name}: ${action === "start" ? "starting" : "stopping"} (desired ${i.desired_state ?? action})\n`);
}

export async function rm(ctx: Ctx, args: { instance: string }): Promise<void> {
  const res = await ctx.client.fetch("DELETE", instancePath(args.instance), { signal: ctx.signal });
  const text = await res.text();
  const i = (text ? JSON.parse(text) : { name: args.instance }) as InstanceView;
  if (ctx.json) ctx.io.out(json(i));
  else ctx.io.out(`${i.name ?? args.instance}: deleting\n`);
}

export async function logs(ctx: Ctx, args: { instance: string; follow?: boolean; tail?: number }): Promise<void> {
  const q = new URLSearchParams();
  if (args.tail !== undefined) q.set("tail", String(args.tail));
  const print = (l: { time?: string; stream?: string; line?: string; message?: string }) => {
    if (ctx.json) ctx.io.out(`${JSON.stringify(l)}\n`);
    else ctx.io.out(`${l.line ?? l.message ?? JSON.stringify(l)}\n`);
  };
  if (args.follow) {
    q.set("follow", "true");
    const { sseFrames } = await import("../client/sse.js");
    const res = await ctx.client.fetch("GET", instancePath(args.instance, `/logs?${q}`), {
      headers: { accept: "text/event-stream" },
      signal: ctx.signal,
    });
    try {
      for await (const f of sseFrames(res.body!)) {
        if (f.event === "log") print(JSON.parse(f.data));
        else if (f.event === "error") {
          const e = JSON.parse(f.data) as { code?: string; detail?: string };
          const { CliError } = await import("../errors.js");
          throw new CliError(e.code ?? "LOGS_FAILED", e.detail ?? "the log stream failed");
        } else if (f.event === "end") return;
      }
    } catch (err) {
      if (ctx.signal.aborted) return;
      throw err;
    }
    return;
  }
  const res = await ctx.client.fetch("GET", instancePath(args.instance, `/logs?${q}`), { signal: ctx.signal });
  for (const line of (await res.text()).split("\n")) if (line.trim()) print(JSON.parse(line));
}
