import { type FleetIssue, type Logger, specInvalid, toFleetError } from "@mcpfleet/core";
import express, { type Express, type Request, type Response } from "express";
import type { z } from "zod";
import type { Principal, Role } from "../auth/keys.js";
import { type GuardDeps, guard } from "./guard.js";
import { JsonTooDeepError, jsonDepth, MAX_JSON_DEPTH } from "./json-depth.js";
import { problemFrom, sendProblem } from "./problem.js";

/** One REST operation: routing, auth, validation, OpenAPI and audit come from this description. */
export interface Operation {
  id: string;
  method: "get" | "post" | "put" | "patch" | "delete";
  /** Express path (`/v1/mcp-server-instances/:id`). */
  path: string;
  role: Role | "public";
  tag: string;
  summary: string;
  description?: string;
  body?: z.ZodType;
  query?: z.ZodType;
  response?: z.ZodType;
  /** Media type of the success response when not JSON (`text/event-stream`). */
  produces?: string[];
  success?: number;
  /** Audited (default: every method but GET). */
  audit?: boolean;
  handler(ctx: OperationContext): Promise<unknown>;
}

export interface OperationContext {
  req: Request;
  res: Response;
  params: Record<string, string>;
  body: any;
  query: any;
  principal: Principal;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

export function zodToIssues(error: z.ZodError, prefix: string): FleetIssue[] {
  return error.issues.map((i) => ({
    path: [prefix, ...i.path.map(String)].filter(Boolean).join("."),
    message: i.message,
  }));
}

export function mountOperations(
  app: Express,
  ops: Operation[],
  deps: GuardDeps,
  bodyLimit: string,
  logger?: Logger,
): void {
  const json = express.json({
    limit: bodyLimit,
    strict: false,
    type: ["application/json", "application/*+json"],
    // refuse absurd nesting before parsing: recursive code downstream would overflow the stack on it
    verify: (_req, _res, buf) => {
      if (jsonDepth(buf, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw new JsonTooDeepError(MAX_JSON_DEPTH);
    },
  });
  for (const op of ops) {
    const handlers = op.method === "get" ? [guard(deps, op.role, op.id)] : [guard(deps, op.role, op.id), json];
    app[op.method](op.path, ...handlers, async (req: Request, res: Response) => {
      const controller = new AbortController();
      const onClose = () => {
        if (!res.writableFinished) controller.abort();
      };
      res.on("close", onClose);
      const audited = op.audit ?? op.method !== "get";
      const params = req.params as Record<string, string>;
      let result: unknown;
      try {
        let query: unknown = req.query;
        if (op.query) {
          const q = op.query.safeParse(req.query);
          if (!q.success) throw specInvalid(zodToIssues(q.error, "query"), "query");
          query = q.data;
        }
        let body: unknown = req.body;
        if (op.body) {
          if (body === undefined)
            throw specInvalid(
              [{ path: "", message: "a JSON body (Content-Type: application/json) is required" }],
              "request body",
            );
          const b = op.body.safeParse(body);
          if (!b.success) throw specInvalid(zodToIssues(b.error, ""), "request body");
          body = b.data;
        }
        result = await op.handler({
          req,
          res,
          params,
          body,
          query,
          principal: req.principal!,
          signal: controller.signal,
        });
        if (!res.headersSent) {
          if (result === undefined) res.status(op.success ?? 204).end();
          else {
            // One string write (express's res.json converts to a Buffer and computes more than needed here).
            res.statusCode = op.success ?? (res.statusCode !== 200 ? res.statusCode : 200);
            res.setHeader("Content-Type", "application/json; charset=utf-8");
            res.end(JSON.stringify(result));
          }
        }
        if (audited) audit(deps, req, op, params, result, "ok", res.statusCode);
      } catch (err) {
        const p = sendProblem(res, err);
        if (p.status >= 500) {
          const fe = toFleetError(err);
          logger?.error({ operation: op.id, code: fe.code, err: fe.toJSON() }, "request failed");
        }
        if (audited) audit(deps, req, op, params, undefined, "error", p.status, p.code);
      } finally {
        res.off("close", onClose);
      }
    });
  }
}

function audit(
  deps: GuardDeps,
  req: Request,
  op: Operation,
  params: Record<string, string>,
  result: unknown,
  outcome: "ok" | "error",
  status: number,
  code?: string,
) {
  const resultId =
    typeof result === "object" && result !== null && typeof (result as { id?: unknown }).id === "string"
      ? (result as { id: string }).id
      : null;
  deps.audit.write({
    time: new Date().toISOString(),
    actor: req.principal?.id ?? "unknown",
    role: req.principal?.role ?? null,
    action: op.id,
    method: req.method,
    path: req.path,
    target: params.id ?? params.key ?? resultId,
    result: outcome,
    status,
    ...(code ? { code } : {}),
    ...(req.ip ? { ip: req.ip } : {}),
  });
}

/** Error handler for what happens before an operation runs (malformed JSON, body too large). */
export function bodyErrorHandler(err: unknown, _req: Request, res: Response, next: (err?: unknown) => void): void {
  const e = err as { type?: string; status?: number; message?: string };
  if (res.headersSent) {
    next(err);
    return;
  }
  if (e?.type === "entity.parse.failed") {
    sendProblem(
      res,
      specInvalid([{ path: "", message: `malformed JSON: ${e.message ?? "parse error"}` }], "request body"),
      400,
    );
    return;
  }
  if (err instanceof JsonTooDeepError) {
    const limit = err.limit;
    sendProblem(
      res,
      specInvalid([{ path: "", message: `JSON nested deeper than ${limit} levels` }], "request body"),
      400,
    );
    return;
  }
  if (e?.type === "entity.too.large") {
    sendProblem(res, specInvalid([{ path: "", message: "request body too large" }], "request body"), 413);
    return;
  }
  if (e?.type === "encoding.unsupported" || e?.type === "charset.unsupported") {
    sendProblem(res, specInvalid([{ path: "", message: e.message ?? "unsupported encoding" }], "request body"), 415);
    return;
  }
  if (err instanceof URIError || (e?.status === 400 && /decode/i.test(e.message ?? ""))) {
    sendProblem(
      res,
      specInvalid([{ path: "path", message: "the URL path is not valid percent-encoding" }], "request path"),
      400,
    );
    return;
  }
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 500) {
    // body-parser / router refusals (bad content encoding, aborted upload): the client's fault, never a 500
    sendProblem(res, specInvalid([{ path: "", message: "the request could not be read" }], "request"), e.status);
    return;
  }
  const p = problemFrom(err);
  sendProblem(res, err, p.status);
}
