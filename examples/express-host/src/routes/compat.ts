import { type Fleet, FleetError, type Instance as InstanceDoc, parseContainerStartRequest } from "@mcpfleet/core";
import { z } from "zod";
import type { Principal } from "../auth/keys.js";
import { assertPermitted, permits } from "../auth/policy-scope.js";
import { createInstanceAs, instantiateTemplateAs } from "../http/create-instance.js";
import type { Operation } from "../http/operation.js";
import { nameFromImage } from "./containers.js";

/**
 * The original manager's HTTP API (seed 002), mounted at a prefix (`/` or `/api/mcp`): the seed bodies
 * work verbatim and answers keep its container-centric shapes. Roles are those of the REST equivalents.
 */

const DOCKER_STATUS: Record<InstanceDoc["status"], string> = {
  pending: "created",
  provisioning: "created",
  starting: "created",
  running: "running",
  unhealthy: "running",
  stopping: "running",
  stopped: "exited",
  failed: "exited",
  deleting: "removing",
  deleted: "removing",
};

/** An instance in the original manager's container shape. */
export function containerView(i: InstanceDoc) {
  const spec = i.json_spec as { image?: string; port?: number; replicas?: number; labels?: Record<string, string> };
  return {
    id: i.id,
    name: i.name,
    image: spec.image ?? null,
    status: i.desired_state === "deleted" ? "removing" : DOCKER_STATUS[i.status],
    state: i.status,
    health:
      i.status === "running" ? "healthy" : i.status === "unhealthy" || i.status === "failed" ? "unhealthy" : "starting",
    ports: typeof spec.port === "number" ? { [`${spec.port}/tcp`]: spec.port } : {},
    replicas: spec.replicas ?? 1,
    labels: spec.labels ?? {},
    endpoint: i.endpoint ?? null,
    created: i.created_at,
  };
}

const envValue = z.union([z.string(), z.number(), z.boolean()]);
/** Either "create from template" (`template`) or the flat "start container" body (`image`). */
const ContainerCreate = z
  .looseObject({
    template: z.string().min(1).optional(),
    service_name: z.string().min(1).max(128).optional(),
    name: z.string().min(1).max(128).optional(),
    image: z.string().min(1).optional(),
    environment: z.record(z.string(), envValue).optional(),
    replicas: z.number().int().min(1).max(100).optional(),
    secrets: z.record(z.string(), z.string()).optional(),
  })
  .refine((b) => b.template !== undefined || b.image !== undefined, {
    error: "give template (create a service from a template) or image (start a container)",
    path: ["template"],
  })
  .meta({ id: "CompatContainerCreate" });

const LogsQuery = z.object({ tail: z.coerce.number().int().min(0).max(100_000).default(100) });

export function compatOperations(fleet: Fleet, prefix: string): Operation[] {
  const base = prefix === "/" ? "" : prefix.replace(/\/+$/, "");
  const tag = "compat";
  // a policy's instance limit holds here as on /v1/mcp-server-instances: another instance is 403
  const find = async (name: string, principal: Principal, signal: AbortSignal) =>
    assertPermitted(principal, await fleet.instances.get(name, { signal }), "name");
  const action =
    (verb: "start" | "stop"): Operation["handler"] =>
    async ({ params, principal, signal }) => {
      const inst = await find(params.name!, principal, signal);
      const after = await fleet.instances[verb](inst.id, { signal });
      return {
        message: `container ${after.name} ${verb === "start" ? "starting" : "stopping"}`,
        ...containerView(after),
      };
    };
  return [
    {
      id: "compatListTemplates",
      method: "get",
      path: `${base}/templates`,
      role: "viewer",
      tag,
      summary: "Templates (original manager shape)",
      handler: async () => ({
        templates: (await fleet.templates.list()).map((t) => ({
          name: t.name,
          description: t.description ?? null,
          image: (t.json_spec.image as string | undefined) ?? null,
          default_config: t.json_spec,
          required_env_vars: t.env_schema.filter((e) => e.required).map((e) => e.name),
          capabilities: t.capabilities,
        })),
      }),
    },
    {
      id: "compatCreateContainer",
      method: "post",
      path: `${base}/containers`,
      role: "operator",
      tag,
      summary: "Create a service from a template, or start a container from the flat body",
      body: ContainerCreate,
      success: 201,
      handler: async ({ body, principal, signal }) => {
        const b = body as z.infer<typeof ContainerCreate>;
        if (b.template !== undefined) {
          const { template, ...overrides } = b;
          const inst = await instantiateTemplateAs(fleet, principal, template, overrides, { signal });
          return { message: `service ${inst.name} created from template ${template}`, ...containerView(inst) };
        }
        const { json_spec } = parseContainerStartRequest(b);
        const inst = await createInstanceAs(
          fleet,
          principal,
          {
            name: b.name ?? b.service_name ?? nameFromImage(b.image!),
            json_spec,
            ...(b.secrets ? { secrets: b.secrets } : {}),
          },
          { signal },
        );
        return { message: `container ${inst.name} started`, ...containerView(inst) };
      },
    },
    {
      id: "compatListContainers",
      method: "get",
      path: `${base}/containers`,
      role: "viewer",
      tag,
      summary: "Containers (original manager shape)",
      handler: async ({ principal, signal }) => {
        const all = (await fleet.instances.list({ signal })).filter(
          (i) => i.desired_state !== "deleted" && permits(principal, i),
        );
        return { containers: all.map(containerView) };
      },
    },
    {
      id: "compatGetContainer",
      method: "get",
      path: `${base}/containers/:name`,
      role: "viewer",
      tag,
      summary: "One container by name or id",
      handler: async ({ params, principal, signal }) => containerView(await find(params.name!, principal, signal)),
    },
    {
      id: "compatDeleteContainer",
      method: "delete",
      path: `${base}/containers/:name`,
      role: "operator",
      tag,
      summary: "Remove a container",
      handler: async ({ params, principal, signal }) => {
        const inst = await find(params.name!, principal, signal);
        const after = await fleet.instances.delete(inst.id, { signal });
        return { message: `container ${after.name} removing`, ...containerView(after) };
      },
    },
    {
      id: "compatStartContainer",
      method: "post",
      path: `${base}/containers/:name/start`,
      role: "operator",
      tag,
      summary: "Start a container",
      handler: action("start"),
    },
    {
      id: "compatStopContainer",
      method: "post",
      path: `${base}/containers/:name/stop`,
      role: "operator",
      tag,
      summary: "Stop a container",
      handler: action("stop"),
    },
    {
      id: "compatContainerStatus",
      method: "get",
      path: `${base}/containers/:name/status`,
      role: "viewer",
      tag,
      summary: "Status of a container",
      handler: async ({ params, principal, signal }) => {
        const i = await find(params.name!, principal, signal);
        const v = containerView(i);
        return {
          name: v.name,
          id: v.id,
          status: v.status,
          state: v.state,
          health: v.health,
          reason: i.status_reason ?? null,
          restart_count: i.restart_count,
          endpoint: v.endpoint,
        };
      },
    },
    {
      id: "compatContainerLogs",
      method: "get",
      path: `${base}/containers/:name/logs`,
      role: "viewer",
      tag,
      summary: "Logs of a container (last `tail` lines, default 100)",
      query: LogsQuery,
      handler: async ({ params, query, principal, signal }) => {
        const inst = await find(params.name!, principal, signal);
        const lines: string[] = [];
        try {
          for await (const l of fleet.instances.logs(inst.id, {
            tail: (query as z.infer<typeof LogsQuery>).tail,
            signal,
          }))
            lines.push(l.line);
        } catch (err) {
          if (!FleetError.isInstance(err) || err.code !== "NOT_FOUND") throw err;
        }
        return { name: inst.name, logs: lines.join("\n") };
      },
    },
  ];
}
