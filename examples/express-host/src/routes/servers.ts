import { type Fleet, FleetError } from "@mcpfleet/core";
import { z } from "zod";
import { assertCanCreateSpec } from "../auth/spec-roles.js";
import { instantiateTemplateAs } from "../http/create-instance.js";
import type { Operation } from "../http/operation.js";
import {
  FromTemplate,
  IdParam,
  Instance,
  KeyParam,
  ServerDefinition,
  ServerInput,
  ServerPatch,
  Template,
  TemplateInput,
} from "../http/schemas.js";

const BASE = "/v1/mcp-servers";

/** Server definitions and templates. Specific paths come before `/:id`. */
export function serverOperations(fleet: Fleet): Operation[] {
  const update: Operation["handler"] = async ({ params, body, signal }) => {
    const { revision, ...patch } = body as z.infer<typeof ServerPatch>;
    return fleet.servers.update(
      params.id!,
      { ...(patch as object), ...(revision !== undefined ? { revision } : {}) } as never,
      { signal },
    );
  };
  return [
    {
      id: "listServers",
      method: "get",
      path: BASE,
      role: "viewer",
      tag: "servers",
      summary: "List server definitions",
      response: z.array(ServerDefinition),
      handler: ({ signal }) => fleet.servers.list({ signal }),
    },
    {
      id: "registerServer",
      method: "post",
      path: BASE,
      role: "admin",
      tag: "servers",
      summary: "Register a server definition",
      body: ServerInput,
      response: ServerDefinition,
      success: 201,
      handler: ({ body, signal }) => fleet.servers.register(body, { signal }),
    },
    {
      id: "listTemplates",
      method: "get",
      path: `${BASE}/templates`,
      role: "viewer",
      tag: "templates",
      summary: "List templates",
      response: z.array(Template),
      handler: () => fleet.templates.list(),
    },
    {
      id: "loadTemplate",
      method: "post",
      path: `${BASE}/templates`,
      role: "admin",
      tag: "templates",
      summary: "Load a template (either original format)",
      body: TemplateInput,
      response: Template,
      success: 201,
      handler: ({ body }) => fleet.templates.load(body),
    },
    {
      id: "getTemplate",
      method: "get",
      path: `${BASE}/templates/:key`,
      role: "viewer",
      tag: "templates",
      summary: "Get a template",
      response: Template,
      handler: ({ params }) => fleet.templates.get(params.key!),
    },
    {
      id: "createFromTemplate",
      method: "post",
      path: `${BASE}/from-template/:key`,
      role: "operator",
      tag: "templates",
      summary: "Create an instance from a template",
      description:
        "Body as the original manager's create-from-template request: service_name, environment (merged over the template's), replicas, optional secrets.",
      body: FromTemplate,
      response: Instance,
      success: 201,
      handler: async ({ params, body, signal, principal }) => {
        const { template, ...overrides } = body as z.infer<typeof FromTemplate>;
        // overrides set the environment of what runs: a process template is admin-only too
        assertCanCreateSpec(principal, (await fleet.templates.get(params.key!)).json_spec);
        if (template !== undefined && template !== params.key) {
          throw new FleetError("SPEC_INVALID", `body template "${template}" differs from the path's "${params.key}"`, {
            path: "template",
          });
        }
        return instantiateTemplateAs(fleet, principal, params.key!, overrides, { signal });
      },
    },
    {
      id: "getServer",
      method: "get",
      path: `${BASE}/:id`,
      role: "viewer",
      tag: "servers",
      summary: "Get a server definition",
      response: ServerDefinition,
      handler: ({ params, signal }) => fleet.servers.get(params.id!, { signal }),
    },
    {
      id: "updateServer",
      method: "patch",
      path: `${BASE}/:id`,
      role: "admin",
      tag: "servers",
      summary: "Update a server definition",
      body: ServerPatch,
      response: ServerDefinition,
      handler: update,
    },
    {
      id: "replaceServer",
      method: "put",
      path: `${BASE}/:id`,
      role: "admin",
      tag: "servers",
      summary: "Update a server definition (PUT alias of PATCH)",
      body: ServerPatch,
      response: ServerDefinition,
      handler: update,
    },
    {
      id: "deleteServer",
      method: "delete",
      path: `${BASE}/:id`,
      role: "admin",
      tag: "servers",
      summary: "Delete a server definition (409 IN_USE while instances use it)",
      handler: async ({ params, signal }) => {
        await fleet.servers.delete(params.id!, { signal });
      },
    },
  ];
}

export { IdParam, KeyParam };
