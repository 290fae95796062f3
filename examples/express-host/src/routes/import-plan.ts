import {
  FleetError,
  type ImportedInstance,
  instantiateSpecTemplate,
  missingSecrets,
  type ParsedServerDefinition,
  parseMcpServersConfig,
  parseRegistryServer,
  type RegistryRuntime,
  type SecretPrompt,
  specInvalid,
  type TemplateValues,
} from "@mcpfleet/core";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** What an import request describes: instances to create, and a server definition for a server.json. */
export interface Plan {
  format: "mcpServers" | "vscode" | "server.json";
  instances: ImportedInstance[];
  prompts: SecretPrompt[];
  server?: ParsedServerDefinition;
  /** Values a server.json template still needs (dry run only; a real import refuses instead). */
  problems?: { path: string; message: string }[];
}

export interface ImportRequest {
  document: Record<string, unknown>;
  secrets: Record<string, string>;
  values: TemplateValues;
  dryRun: boolean;
  name?: string;
  runtime?: RegistryRuntime;
}

const ENVELOPE_KEYS = ["secrets", "values", "dry_run", "instance_name", "runtime"] as const;

/**
 * The body is either `{document, secrets?, values?, dry_run?, instance_name?, runtime?}` or the document itself with
 * those keys beside its own (`{"mcpServers": {...}, "secrets": {...}}`).
 */
export function readImportRequest(body: unknown, dryRunQuery: boolean): ImportRequest {
  if (!isRecord(body)) throw specInvalid([{ path: "", message: "must be a JSON object" }], "import request");
  let document: Record<string, unknown>;
  if (isRecord(body.document)) document = body.document;
  else {
    document = { ...body };
    for (const k of ENVELOPE_KEYS) delete document[k];
  }
  const issues: { path: string; message: string }[] = [];
  const secrets = body.secrets ?? {};
  if (!isRecord(secrets) || Object.values(secrets).some((v) => typeof v !== "string"))
    issues.push({ path: "secrets", message: "must be an object of names to string values" });
  const values = body.values ?? {};
  if (!isRecord(values)) issues.push({ path: "values", message: "must be an object" });
  if (body.dry_run !== undefined && typeof body.dry_run !== "boolean")
    issues.push({ path: "dry_run", message: "must be a boolean" });
  if (body.name !== undefined && typeof body.name !== "string")
    issues.push({ path: "name", message: "must be a string" });
  if (body.runtime !== undefined && !["process", "docker", "url"].includes(body.runtime as string))
    issues.push({ path: "runtime", message: "must be process, docker or url" });
  if (issues.length > 0) throw specInvalid(issues, "import request");
  return {
    document,
    secrets: secrets as Record<string, string>,
    values: values as TemplateValues,
    dryRun: dryRunQuery || body.dry_run === true,
    ...(typeof body.instance_name === "string" ? { name: body.instance_name } : {}),
    ...(body.runtime ? { runtime: body.runtime as RegistryRuntime } : {}),
  };
}

/** Parses the document into a plan (every instance validated). */
export function planImport(req: ImportRequest): Plan {
  const d = req.document;
  if ("mcpServers" in d || "servers" in d || "mcp" in d) {
    const plan = parseMcpServersConfig(d);
    return plan;
  }
  if (typeof d.name === "string" && ("packages" in d || "remotes" in d)) {
    const r = parseRegistryServer(d, req.runtime ? { runtime: req.runtime } : {});
    if (!r.template)
      throw new FleetError("UNSUPPORTED", `${r.registryName} offers nothing runnable here`, { path: "packages" });
    // secret variables may come in `secrets`, the rest in `values`
    const values: TemplateValues = { ...req.values };
    for (const v of r.template.variables)
      if (v.secret && req.secrets[v.name] !== undefined) values[v.name] = req.secrets[v.name]!;
    const prompts: SecretPrompt[] = r.template.variables
      .filter((v) => v.secret)
      .map((v) => ({
        name: v.name,
        from: "variable",
        required: v.required,
        ...(v.description ? { description: v.description } : {}),
      }));
    let built: { json_spec: Record<string, unknown>; secrets: Record<string, string> };
    let problems: { path: string; message: string }[] = [];
    try {
      built = instantiateSpecTemplate(r.template, values);
    } catch (err) {
      if (req.dryRun && FleetError.isInstance(err) && err.code === "SPEC_INVALID") {
        problems = err.issues;
        built = { json_spec: r.template.base, secrets: {} };
      } else throw err;
    }
    const instances: ImportedInstance[] = [
      {
        name: req.name ?? r.instanceName,
        source: r.template.source,
        json_spec: built.json_spec,
        slots: [],
        secretValues: built.secrets,
        start: true,
      },
    ];
    return { format: "server.json", instances, prompts, server: r.server, problems };
  }
  throw specInvalid(
    [{ path: "", message: 'must be an mcpServers / VS Code "servers" document or a registry server.json' }],
    "import request",
  );
}

/** The plan as shown to the caller: names, specs and which secrets are needed, never a secret value. */
export function planView(plan: Plan, req: ImportRequest) {
  return {
    dry_run: req.dryRun,
    format: plan.format,
    ...(plan.server ? { server: plan.server } : {}),
    instances: plan.instances.map((i) => ({
      name: i.name,
      source: i.source,
      json_spec: i.json_spec,
      start: i.start,
      secrets: [...new Set([...Object.keys(i.secretValues), ...i.slots.map((s) => s.key)])],
    })),
    prompts: plan.prompts,
    missing_secrets: plan.format === "server.json" ? [] : missingSecrets(plan.instances, req.secrets),
    ...(plan.problems && plan.problems.length > 0 ? { problems: plan.problems } : {}),
  };
}
