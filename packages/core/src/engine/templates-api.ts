import { FleetError } from "../errors.js";
import type { Template } from "../model/types.js";
import type { Repository, StoredTemplate } from "../plugins/store.js";
import { parseTemplate, templateInstanceInput, validateEnvironment } from "../spec/index.js";
import { tableRepository } from "../store/memory-store.js";
import { DocumentTable } from "../store/table.js";
import { stableStringify } from "../util/stable-json.js";
import type { InstancesApi, TemplatesApi } from "./fleet-types.js";

const toTemplate = (s: StoredTemplate): Template => ({
  key: s.key,
  name: s.name,
  ...(s.description !== undefined ? { description: s.description } : {}),
  json_spec: s.json_spec,
  env_schema: s.env_schema,
  capabilities: s.capabilities,
});

/**
 * Templates kept in the store's `templates` repository when it has one (shared by every replica,
 * surviving restarts), else in this fleet's memory. `load` is an upsert by key that writes only
 * when the template changed, so replicas loading the same files at start do not fight.
 */
export function templatesApi(instances: InstancesApi, stored?: Repository<StoredTemplate>): TemplatesApi {
  const repo = stored ?? tableRepository(new DocumentTable<StoredTemplate>("template"));
  const get = async (key: string) => {
    const t = typeof key === "string" && key !== "" ? await repo.get(key) : undefined;
    if (!t)
      throw new FleetError("NOT_FOUND", `template ${String(key)} not found`, { path: "template", isRetryable: false });
    return toTemplate(t);
  };
  const upsert = async (t: Template): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const current = await repo.get(t.key);
      try {
        if (!current) await repo.create({ ...t, id: t.key });
        else if (stableStringify(toTemplate(current)) !== stableStringify(t)) {
          await repo.update({ ...t, id: t.key, revision: current.revision });
        }
        return;
      } catch (err) {
        const code = FleetError.isInstance(err) ? err.code : undefined;
        if (attempt >= 5 || (code !== "CONFLICT" && code !== "ALREADY_EXISTS")) throw err;
      }
    }
  };
  return {
    async load(json) {
      const t = parseTemplate(json);
      await upsert(t);
      return t;
    },
    list: async () => (await repo.list()).map(toTemplate).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    get,
    async instantiate(key, overrides = {}, o) {
      const template = await get(key);
      const input = templateInstanceInput(template, overrides);
      if (template.env_schema.length > 0) {
        const env = ((input.json_spec as { environment?: Record<string, string> }).environment ?? {}) as Record<
          string,
          string
        >;
        const withSecretNames = { ...env };
        for (const k of Object.keys(overrides.secrets ?? {})) withSecretNames[k] = `secret_ref:pending:${k}`;
        validateEnvironment(template.env_schema, withSecretNames);
      }
      return instances.create({ ...input, ...(overrides.secrets ? { secrets: overrides.secrets } : {}) }, o);
    },
  };
}
