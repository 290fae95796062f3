import {
  type Fleet,
  FleetError,
  type Instance,
  importSecrets,
  missingSecrets,
  missingSecretsError,
} from "@mcpfleet/core";
import { z } from "zod";
import { roleAllows } from "../auth/keys.js";
import { assertPermits } from "../auth/policy-scope.js";
import { createInstanceAs } from "../http/create-instance.js";
import type { Operation } from "../http/operation.js";
import { Instance as InstanceSchema } from "../http/schemas.js";
import { planImport, planView, readImportRequest } from "./import-plan.js";

const ImportQuery = z.object({
  dry_run: z
    .enum(["true", "false", "1", "0"], { error: "must be true or false" })
    .transform((v) => v === "true" || v === "1")
    .default(false),
});

const ImportBody = z.looseObject({}).meta({
  id: "ImportRequest",
  description:
    'An mcpServers document (Claude Desktop, Cursor, Windsurf), a VS Code {"servers", "inputs"} document or a registry server.json; ' +
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the placeholder syntax being documented
    "beside it (or wrapping it as `document`): `secrets` (values for its ${input:...}/${env:...} placeholders or secret variables), " +
    "`values` (server.json variables), `dry_run`, `instance_name` (server.json), `runtime` (process | docker | url).",
});

/** `POST /v1/import`: create what a client config or registry document describes (or, dry run, show the plan). */
export function importOperations(fleet: Fleet): Operation[] {
  return [
    {
      id: "importDocument",
      method: "post",
      path: "/v1/import",
      role: "operator",
      tag: "import",
      summary: "Create the instances an mcpServers / VS Code document or a registry server.json describes",
      description:
        "With ?dry_run=true (or dry_run: true in the body) only validates and returns the plan: instance names, specs, " +
        "the secrets each needs and which are missing. Missing secrets refuse a real import with 422 listing them. " +
        "Secret values are never returned.",
      query: ImportQuery,
      body: ImportBody,
      response: z.object({ format: z.string(), instances: z.array(InstanceSchema) }).loose(),
      handler: async ({ body, query, principal, signal, res }) => {
        const req = readImportRequest(body, (query as z.infer<typeof ImportQuery>).dry_run);
        const plan = planImport(req);
        const view = planView(plan, req);
        const existingServer = plan.server
          ? (await fleet.servers.list({ signal })).find(
              (s) => s.name === plan.server!.name && (s.version ?? null) === (plan.server!.version ?? null),
            )
          : undefined;
        // a policy's instance limit refuses the whole document (dry run too), before any name is looked up
        for (const i of plan.instances)
          assertPermits(
            principal,
            { name: i.name, server_spec_id: existingServer?.id ?? null, json_spec: i.json_spec },
            `instances.${i.name}`,
          );
        const taken: string[] = [];
        for (const i of plan.instances) {
          const exists = await fleet.instances.get(i.name, { signal }).then(
            () => true,
            () => false,
          );
          if (exists) taken.push(i.name);
        }
        if (req.dryRun) {
          res.status(200);
          return {
            ...view,
            conflicts: taken,
            ...(plan.server ? { server_exists: existingServer !== undefined } : {}),
          };
        }
        const missing = missingSecrets(plan.instances, req.secrets);
        if (missing.length > 0) throw missingSecretsError(missing);
        if (taken.length > 0)
          throw new FleetError("ALREADY_EXISTS", `instances exist: ${taken.join(", ")}`, {
            path: "name",
            issues: taken.map((n) => ({ path: `instances.${n}`, message: "an instance with this name exists" })),
          });
        let serverId: string | undefined = existingServer?.id;
        if (plan.server && !existingServer) {
          if (!roleAllows(principal.role, "admin"))
            throw new FleetError(
              "FORBIDDEN",
              `registering server ${plan.server.name} needs the admin role (an admin imports it once, then operators can)`,
              { path: "server" },
            );
          serverId = (await fleet.servers.register(plan.server, { signal })).id;
        }
        const created: Instance[] = [];
        try {
          for (const i of plan.instances) {
            const secrets = importSecrets(i, req.secrets);
            created.push(
              await createInstanceAs(
                fleet,
                principal,
                {
                  name: i.name,
                  json_spec: i.json_spec,
                  ...(serverId ? { server_spec_id: serverId } : {}),
                  ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
                  start: i.start,
                },
                { signal },
              ),
            );
          }
        } catch (err) {
          // all or nothing: what this request created goes again
          for (const c of created) await fleet.instances.delete(c.id).catch(() => {});
          throw err;
        }
        res.status(201);
        return { format: plan.format, ...(serverId ? { server_spec_id: serverId } : {}), instances: created };
      },
    },
  ];
}
