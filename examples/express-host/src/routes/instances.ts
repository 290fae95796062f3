import {
  type Fleet,
  FleetError,
  type Instance as InstanceDoc,
  instanceView,
  toFleetError,
  visibleEndpoint,
} from "@mcpfleet/core";
import { z } from "zod";
import { assertToolFilterKept, authorizeInstanceInput } from "../auth/admin-fields.js";
import { assertCanCreateSpec } from "../auth/spec-roles.js";
import { createInstanceAs } from "../http/create-instance.js";
import type { Operation } from "../http/operation.js";
import {
  Instance,
  InstanceCreate,
  InstanceListQuery,
  InstanceStatusView,
  InstanceUpdate,
  LogsQuery,
  Tool,
} from "../http/schemas.js";
import { listTools } from "../tools.js";

const BASE = "/v1/mcp-server-instances";

const statusView = (i: InstanceDoc) => ({
  id: i.id,
  name: i.name,
  status: i.status,
  status_reason: i.status_reason ?? null,
  desired_state: i.desired_state,
  generation: i.generation,
  observed_generation: i.observed_generation,
  endpoint: visibleEndpoint(i),
  restart_count: i.restart_count,
  updated_at: i.updated_at,
});

/**
 * Refuses at create a `process` spec this host cannot run: beside a container runtime the process
 * runtime is off unless FLEET_PROCESS_RUNTIME=on (an API-only host leaves that to its workers).
 */
function assertProcessRuntime(fleet: Fleet, spec: unknown, localRuntimes: boolean): void {
  if (!localRuntimes || (spec as { type?: unknown } | null)?.type !== "process") return;
  if (fleet.runtimeFor("process")) return;
  throw new FleetError(
    "UNSUPPORTED",
    "this host runs no process runtime (beside a container runtime it needs FLEET_PROCESS_RUNTIME=on)",
    { path: "json_spec.type", isRetryable: false },
  );
}

export function instanceOperations(fleet: Fleet, options: { localRuntimes?: boolean } = {}): Operation[] {
  const localRuntimes = options.localRuntimes ?? true;
  // a process instance's spec and environment are host command execution: admin-only, both the
  // spec it has and the one it would get (a secrets-only body changes its environment too)
  const update: Operation["handler"] = async ({ params, body, signal, principal }) => {
    authorizeInstanceInput(principal, body);
    const current = await fleet.instances.get(params.id!, { signal });
    assertCanCreateSpec(principal, current.json_spec);
    assertToolFilterKept(principal, current.json_spec, body?.json_spec);
    return fleet.instances.update(params.id!, body, { signal }).then(instanceView);
  };
  return [
    {
      id: "listInstances",
      method: "get",
      path: BASE,
      role: "viewer",
      tag: "instances",
      summary: "List instances (X-Total-Count: matches before paging; X-Next-Cursor: the next page)",
      description:
        "Pages in (name, id) order with `limit` and `cursor` (the store filters and pages when it can). " +
        "`offset` keeps the old behaviour (every instance read, in store order).",
      query: InstanceListQuery,
      response: z.array(Instance),
      handler: async ({ query, req, res, signal }) => {
        const q = query as z.infer<typeof InstanceListQuery>;
        if (q.offset !== undefined) {
          if (q.cursor !== undefined || q.name_prefix !== undefined || q.label !== undefined) {
            throw new FleetError("SPEC_INVALID", "offset cannot be combined with cursor, name_prefix or label", {
              path: "query.offset",
            });
          }
          const all = await fleet.instances.list({
            signal,
            ...(q.status ? { status: q.status } : {}),
            ...(q.server_spec_id ? { server_spec_id: q.server_spec_id } : {}),
          });
          res.setHeader("X-Total-Count", String(all.length));
          return all.slice(q.offset, q.offset + q.limit);
        }
        const eq = q.label?.indexOf("=") ?? -1;
        const label =
          q.label === undefined
            ? undefined
            : eq < 0
              ? { key: q.label }
              : { key: q.label.slice(0, eq), value: q.label.slice(eq + 1) };
        const page = await fleet.instances.page({
          signal,
          limit: q.limit,
          count: true,
          ...(q.cursor ? { cursor: q.cursor } : {}),
          ...(q.status ? { status: q.status } : {}),
          ...(q.server_spec_id ? { server_spec_id: q.server_spec_id } : {}),
          ...(q.name_prefix ? { name_prefix: q.name_prefix } : {}),
          ...(label ? { label } : {}),
        });
        if (page.total !== undefined) res.setHeader("X-Total-Count", String(page.total));
        if (page.nextCursor) {
          res.setHeader("X-Next-Cursor", page.nextCursor);
          const next = new URLSearchParams(req.query as Record<string, string>);
          next.set("cursor", page.nextCursor);
          res.setHeader("Link", `<${req.baseUrl}${req.path}?${next.toString()}>; rel="next"`);
        }
        return page.items.map(instanceView);
      },
    },
    {
      id: "createInstance",
      method: "post",
      path: BASE,
      role: "operator",
      tag: "instances",
      summary: "Create an instance (starts it unless start=false)",
      body: InstanceCreate,
      response: Instance,
      success: 201,
      description: "A `process` spec (a command on the host) needs the admin role.",
      handler: async ({ body, signal, principal }) => {
        assertProcessRuntime(fleet, body.json_spec, localRuntimes);
        return createInstanceAs(fleet, principal, body, { signal }).then(instanceView);
      },
    },
    {
      id: "getInstance",
      method: "get",
      path: `${BASE}/:id`,
      role: "viewer",
      tag: "instances",
      summary: "Get an instance by id or name",
      response: Instance,
      handler: ({ params, signal }) => fleet.instances.get(params.id!, { signal }).then(instanceView),
    },
    {
      id: "updateInstance",
      method: "patch",
      path: `${BASE}/:id`,
      role: "operator",
      tag: "instances",
      summary: "Update an instance (spec changes redeploy)",
      body: InstanceUpdate,
      response: Instance,
      handler: update,
    },
    {
      id: "replaceInstance",
      method: "put",
      path: `${BASE}/:id`,
      role: "operator",
      tag: "instances",
      summary: "Update an instance (PUT alias of PATCH)",
      body: InstanceUpdate,
      response: Instance,
      handler: update,
    },
    {
      id: "deleteInstance",
      method: "delete",
      path: `${BASE}/:id`,
      role: "operator",
      tag: "instances",
      summary: "Delete an instance (asynchronous: status goes deleting -> deleted)",
      response: Instance,
      success: 202,
      handler: ({ params, signal }) => fleet.instances.delete(params.id!, { signal }).then(instanceView),
    },
    {
      id: "startInstance",
      method: "post",
      path: `${BASE}/:id/start`,
      role: "operator",
      tag: "instances",
      summary: "Start an instance",
      response: Instance,
      success: 202,
      handler: ({ params, signal }) => fleet.instances.start(params.id!, { signal }).then(instanceView),
    },
    {
      id: "stopInstance",
      method: "post",
      path: `${BASE}/:id/stop`,
      role: "operator",
      tag: "instances",
      summary: "Stop an instance",
      response: Instance,
      success: 202,
      handler: ({ params, signal }) => fleet.instances.stop(params.id!, { signal }).then(instanceView),
    },
    {
      id: "getInstanceStatus",
      method: "get",
      path: `${BASE}/:id/status`,
      role: "viewer",
      tag: "instances",
      summary: "Status of an instance",
      response: InstanceStatusView,
      handler: async ({ params, signal }) => statusView(await fleet.instances.get(params.id!, { signal })),
    },
    {
      id: "getInstanceLogs",
      method: "get",
      path: `${BASE}/:id/logs`,
      role: "viewer",
      tag: "instances",
      summary: "Logs: JSON lines, or Server-Sent Events with follow=true",
      query: LogsQuery,
      produces: ["application/x-ndjson", "text/event-stream"],
      handler: async ({ params, query, res, signal }) => {
        const q = query as z.infer<typeof LogsQuery>;
        const inst = await fleet.instances.get(params.id!, { signal });
        const lines = fleet.instances.logs(inst.id, {
          follow: q.follow,
          ...(q.tail !== undefined ? { tail: q.tail } : {}),
          signal,
        });
        const iterator = lines[Symbol.asyncIterator]();
        // Pull the first line before committing to 200, so NOT_FOUND/UNSUPPORTED still become problems.
        const first = q.follow ? undefined : await iterator.next();
        if (q.follow) {
          res
            .status(200)
            .set({ "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no" });
          res.flushHeaders();
          res.write(": connected\n\n");
          const ping = setInterval(() => res.write(": ping\n\n"), 15_000);
          try {
            for (let n = await iterator.next(); !n.done; n = await iterator.next())
              res.write(`event: log\ndata: ${JSON.stringify(n.value)}\n\n`);
            res.write("event: end\ndata: {}\n\n");
          } catch (err) {
            if (!signal.aborted)
              res.write(
                `event: error\ndata: ${JSON.stringify({ code: toFleetError(err).code, detail: toFleetError(err).message })}\n\n`,
              );
          } finally {
            clearInterval(ping);
            res.end();
          }
          return undefined;
        }
        res.status(200).type("application/x-ndjson");
        for (let n = first!; !n.done; n = await iterator.next()) res.write(`${JSON.stringify(n.value)}\n`);
        res.end();
        return undefined;
      },
    },
    {
      id: "listInstanceTools",
      method: "get",
      path: `${BASE}/:id/tools`,
      role: "viewer",
      tag: "instances",
      summary: "Tools the running instance offers (MCP tools/list)",
      response: z.object({ instance: z.string(), tools: z.array(Tool) }),
      handler: async ({ params, signal }) => {
        const conn = await fleet.connection(params.id!, { signal });
        try {
          return { instance: conn.instance.id, tools: await listTools(conn, signal) };
        } catch (err) {
          if (FleetError.isInstance(err)) throw err;
          throw new FleetError(
            "RUNTIME_UNAVAILABLE",
            `instance ${conn.instance.name} did not answer tools/list: ${(err as Error).message}`,
            { isRetryable: true },
          );
        }
      },
    },
  ];
}
