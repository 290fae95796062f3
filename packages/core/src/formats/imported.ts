import { FleetError, type FleetIssue } from "../errors.js";
import { fillPlaceholders } from "./placeholders.js";

/** A secret the caller must supply: a `${input:...}` / `${env:...}` placeholder or a secret variable. */
export interface SecretPrompt {
  /** The name to give its value under in `secrets` (`gh-token`, `GITHUB_TOKEN`). */
  name: string;
  description?: string;
  from: "input" | "env" | "variable";
  required: boolean;
}

/**
 * Where a prompted secret goes in one instance: the `secrets` key of `instances.create`
 * (`API_KEY` for an environment variable, `headers.Authorization` for a header) and the value's
 * template (`Bearer ${input:token}`), filled from the prompted values.
 */
export interface SecretSlot {
  key: string;
  template: string;
  uses: string[];
  /** Where it was found in the document (`mcpServers.github.env.GITHUB_TOKEN`). */
  path: string;
}

/** One instance a document describes, ready for `instances.create` once its secrets are known. */
export interface ImportedInstance {
  /** Instance name (sanitized to the instance name grammar, unique within the document). */
  name: string;
  /** The key or name in the document. */
  source: string;
  /** Wire json_spec without any secret value (those go in through `secrets`). */
  json_spec: Record<string, unknown>;
  /** Secrets to fill from prompted values. */
  slots: SecretSlot[];
  /**
   * Credentials the document held as literals (an `Authorization` header, a `GITHUB_TOKEN` env
   * value): written to the secret store on create, never kept in the spec. Never log or return them.
   */
  secretValues: Record<string, string>;
  /** Start on create (false for entries marked `disabled`). */
  start: boolean;
}

export interface ImportPlan {
  format: "mcpServers" | "vscode" | "server.json";
  instances: ImportedInstance[];
  prompts: SecretPrompt[];
}

/**
 * The `secrets` to pass to `instances.create` for one imported instance, from the values the
 * caller gave for the prompts (extra names are ignored). Missing values: `SPEC_INVALID` listing
 * every missing one at `secrets.<name>` (never the values given).
 */
export function importSecrets(
  instance: ImportedInstance,
  provided: Record<string, string> = {},
): Record<string, string> {
  const missing = missingSecrets([instance], provided);
  if (missing.length > 0) throw missingSecretsError(missing);
  const out: Record<string, string> = { ...instance.secretValues };
  for (const slot of instance.slots) out[slot.key] = fillPlaceholders(slot.template, provided);
  return out;
}

/** Prompt names the instances need that `provided` lacks (or gives empty), in first-use order. */
export function missingSecrets(instances: ImportedInstance[], provided: Record<string, string> = {}): string[] {
  const missing: string[] = [];
  for (const i of instances)
    for (const s of i.slots)
      for (const name of s.uses) {
        const v = Object.hasOwn(provided, name) ? provided[name] : undefined;
        if ((typeof v !== "string" || v === "") && !missing.includes(name)) missing.push(name);
      }
  return missing;
}

export function missingSecretsError(names: string[]): FleetError {
  const issues: FleetIssue[] = names.map((n) => ({
    path: `secrets.${n}`,
    message: "is required (a secret to supply)",
  }));
  return new FleetError("SPEC_INVALID", `missing secrets: ${names.join(", ")}`, {
    path: "secrets",
    issues,
    isRetryable: false,
    details: { missing: names },
  });
}
