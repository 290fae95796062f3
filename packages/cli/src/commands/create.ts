import { readFile } from "node:fs/promises";
import { CliError, EXIT, usage } from "../errors.js";
import { json } from "../output.js";
import { readSecrets } from "../prompt.js";
import type { Ctx } from "./context.js";
import { parseArgs } from "./tools.js";

export interface CreateArgs {
  name?: string | undefined;
  file?: string | undefined;
  template?: string | undefined;
  catalog?: string | undefined;
  set?: string[] | undefined;
  secret?: string[] | undefined;
  start?: boolean | undefined;
}

interface Variable {
  name: string;
  secret?: boolean;
  required?: boolean;
}

async function readSpecFile(path: string): Promise<Record<string, unknown>> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new CliError("SPEC_INVALID", `cannot read ${path}: ${(err as Error).message}`, { exitCode: EXIT.INVALID });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw new CliError("SPEC_INVALID", `${path} must hold a JSON object`, { exitCode: EXIT.INVALID });
  return doc as Record<string, unknown>;
}

/**
 * Creates an instance from a spec file (a create body with `json_spec`, or a bare `json_spec`), a
 * template (`POST /v1/mcp-servers/from-template/<key>`) or a catalog entry (`POST /v1/catalog/<name>/instances`).
 * Secret values are prompted without echo (or read from stdin) and sent only in `secrets`.
 */
export async function create(ctx: Ctx, args: CreateArgs): Promise<void> {
  const sources = [args.file, args.template, args.catalog].filter((s) => s !== undefined);
  if (sources.length !== 1) throw usage("give exactly one of --file, --template or --catalog");
  const values = parseArgs(args.set ?? []);
  const secretNames = [...new Set(args.secret ?? [])];
  let path: string;
  let body: Record<string, unknown>;
  if (args.file) {
    const doc = await readSpecFile(args.file);
    body = "json_spec" in doc ? { ...doc } : { json_spec: doc };
    if (args.name) body.name = args.name;
    if (typeof body.name !== "string")
      throw usage("the spec file has no name: give one (mcpfleet create <name> -f ...)");
    path = "/v1/mcp-server-instances";
  } else if (args.template) {
    body = {
      ...(args.name ? { name: args.name } : {}),
      ...(Object.keys(values).length > 0 ? { environment: values } : {}),
    };
    path = `/v1/mcp-servers/from-template/${encodeURIComponent(args.template)}`;
  } else {
    const entry = await ctx.client.json<{ variables?: Variable[] }>(
      "GET",
      `/v1/catalog/${encodeURIComponent(args.catalog!)}`,
    );
    // the entry's required secret variables are asked for unless named already
    for (const v of entry.variables ?? [])
      if (v.secret && v.required && !secretNames.includes(v.name) && values[v.name] === undefined)
        secretNames.push(v.name);
    body = {
      ...(args.name ? { name: args.name } : {}),
      ...(Object.keys(values).length > 0 ? { values } : {}),
    };
    path = `/v1/catalog/${encodeURIComponent(args.catalog!)}/instances`;
  }
  if (args.start === false) body.start = false;
  const secrets = await readSecrets(secretNames);
  if (Object.keys(secrets).length > 0)
    body.secrets = { ...((body.secrets as Record<string, string> | undefined) ?? {}), ...secrets };
  const created = await ctx.client.json<{ id: string; name: string; status: string }>("POST", path, body);
  if (ctx.json) ctx.io.out(json(created));
  else ctx.io.out(`${created.name}: created (${created.id}, ${created.status})\n`);
}
