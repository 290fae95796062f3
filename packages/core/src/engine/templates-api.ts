import { FleetError } from "../errors.js";
import { parseTemplate, templateInstanceInput, validateEnvironment } from "../spec/index.js";
import type { InstancesApi, Template, TemplatesApi } from "./fleet-types.js";

/** Templates held by this fleet (load them at start-up, e.g. from the original manager's files). */
export function templatesApi(instances: InstancesApi): TemplatesApi {
  const templates = new Map<string, Template>();
  const get = async (key: string) => {
    const t = templates.get(key);
    if (!t)
      throw new FleetError("NOT_FOUND", `template ${String(key)} not found`, { path: "template", isRetryable: false });
    return t;
  };
  return {
    async load(json) {
      const t = parseTemplate(json);
      templates.set(t.key, t);
      return t;
    },
    list: async () => [...templates.values()],
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
