import type { IncomingMessage, ServerResponse } from "node:http";
import type { Controllers } from "./controllers.js";
import { byKind, type ResourceInfo } from "./resources.js";
import type { Requirement } from "./selectors.js";
import { ApiError, notFound } from "./status.js";
import type { ObjectStore } from "./store.js";

export interface StreamContext {
  store: ObjectStore;
  controllers: Controllers;
  openResponses: Set<ServerResponse>;
}

/** `?watch=true`: chunked JSON lines from a resourceVersion; a too-old one gets an ERROR event (410). */
export function serveWatch(
  ctx: StreamContext,
  r: ResourceInfo,
  ns: string | undefined,
  selector: Requirement[],
  q: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): undefined {
  const rvParam = q.get("resourceVersion");
  res.writeHead(200, {
    "Content-Type": "application/json",
    "Transfer-Encoding": "chunked",
    "Cache-Control": "no-cache, private",
  });
  res.flushHeaders();
  ctx.openResponses.add(res);
  const write = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
  let since: number | undefined;
  if (!rvParam || rvParam === "0") {
    for (const o of ctx.store.list(r, ns, selector)) write("ADDED", o);
  } else since = Number(rvParam);
  let unregister: () => void = () => {};
  try {
    unregister = ctx.store.watch(
      { resource: r, namespace: ns, selector, send: (ev) => write(ev.type, ev.object) },
      since,
    );
  } catch (err) {
    // A too-old resourceVersion: the real server answers 200 and one ERROR event with a 410 Status.
    if (err instanceof ApiError) write("ERROR", err.body());
    ctx.openResponses.delete(res);
    res.end();
    return undefined;
  }
  const timeout = Number(q.get("timeoutSeconds") ?? 0);
  const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
  const done = () => {
    clearTimeout(timer);
    unregister();
    ctx.openResponses.delete(res);
  };
  res.on("close", done);
  req.on("close", done);
  return undefined;
}

/** `pods/<name>/log` with `container`, `tailLines`, `timestamps` and `follow` (ends when the pod goes). */
export function servePodLog(
  ctx: StreamContext,
  ns: string,
  name: string,
  q: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
): undefined {
  const pod = ctx.store.get(byKind("Pod") as ResourceInfo, ns, name);
  if (!pod) throw notFound("pods", "", name);
  const container = q.get("container");
  const names = ((pod.spec as any).containers as any[]).map((c) => c.name);
  if (container && !names.includes(container)) {
    throw new ApiError(400, "BadRequest", `container ${container} is not valid for pod ${name}`);
  }
  const key = `${ns}/${name}`;
  const timestamps = q.get("timestamps") === "true";
  const fmt = (e: { time: string; line: string }) =>
    `${timestamps ? `${e.time.replace(/Z$/, "000000Z")} ` : ""}${e.line}\n`;
  let lines = ctx.controllers.logs.get(key) ?? [];
  const tail = q.get("tailLines");
  if (tail !== null) lines = lines.slice(Math.max(0, lines.length - Number(tail)));
  res.writeHead(200, { "Content-Type": "text/plain", "Transfer-Encoding": "chunked" });
  for (const e of lines) res.write(fmt(e));
  if (q.get("follow") !== "true") {
    res.end();
    return undefined;
  }
  res.flushHeaders();
  ctx.openResponses.add(res);
  const listener = (k: string, e: { time: string; line: string }) => {
    if (k !== key) return;
    if (e.time === "")
      res.end(); // pod deleted
    else res.write(fmt(e));
  };
  ctx.controllers.logListeners.add(listener);
  const done = () => {
    ctx.controllers.logListeners.delete(listener);
    ctx.openResponses.delete(res);
  };
  res.on("close", done);
  req.on("close", done);
  return undefined;
}
