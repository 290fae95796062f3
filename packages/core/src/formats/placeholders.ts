import type { FleetIssue } from "../errors.js";

/** `${input:id}` (VS Code) and `${env:NAME}` (VS Code, Cursor) placeholders in a config value. */
const PLACEHOLDER = /\$\{([A-Za-z]+):([^}]*)\}/g;
const ANY_VARIABLE = /\$\{[^}]*\}/g;
const PROMPT_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export interface Placeholders {
  /** Prompt names this value uses (`${input:gh-token}` -> `gh-token`, `${env:API_KEY}` -> `API_KEY`). */
  uses: { name: string; from: "input" | "env" }[];
  issues: FleetIssue[];
}

/**
 * The placeholders of one string value. Unknown variables (`${workspaceFolder}`, `${userHome}`) are
 * issues: a fleet host has no workspace, and leaving them literal would run something else.
 */
export function findPlaceholders(value: string, path: string): Placeholders {
  const uses: Placeholders["uses"] = [];
  const issues: FleetIssue[] = [];
  for (const m of value.matchAll(ANY_VARIABLE)) {
    const known = /^\$\{(input|env):([^}]*)\}$/.exec(m[0]);
    if (!known) {
      issues.push({ path, message: `variable ${m[0]} is not available here (only \${input:...} and \${env:...})` });
      continue;
    }
    const name = known[2]!;
    if (!PROMPT_NAME.test(name)) {
      issues.push({ path, message: `placeholder ${m[0]} must name 1-128 of [A-Za-z0-9_.-]` });
      continue;
    }
    if (!uses.some((u) => u.name === name)) uses.push({ name, from: known[1] as "input" | "env" });
  }
  return { uses, issues };
}

/** Replaces every placeholder with the value given for its name (callers check that all are present). */
export function fillPlaceholders(template: string, values: Record<string, string>): string {
  return template.replace(PLACEHOLDER, (_m, _kind: string, name: string) => values[name] ?? "");
}

const CREDENTIAL_HEADER =
  /^(authorization|proxy-authorization|cookie)$|auth|token|key|secret|password|passwd|credential|session/i;
const CREDENTIAL_ENV = /token|secret|password|passwd|api_?key|access_?key|private_?key|credential|auth|pat$/i;

/** A header whose value is a credential (moved to the secret store, never kept literal). */
export const isCredentialHeader = (name: string): boolean => CREDENTIAL_HEADER.test(name);
/** An environment variable whose name says it holds a credential (`GITHUB_TOKEN`, `OPENAI_API_KEY`). */
export const isCredentialEnv = (name: string): boolean => CREDENTIAL_ENV.test(name);
