import { type FleetIssue, specInvalid } from "../errors.js";
import type { SecretRef } from "../plugins/secret-store.js";
import { formatSecretRef, isSecretRefPart } from "./secret-ref.js";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const RESERVED = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Moves caller-provided secret values into refs under `scope` (the engine uses `instance_<id>`).
 * For each `name` in `secrets`:
 * - `AUTH_TOKEN` or `authentication.token` on a url spec: bearer token ref `secret_ref:<scope>:AUTH_TOKEN`;
 * - `headers.<Header-Name>` on a url spec: that header becomes `secret_ref:<scope>:headers.<Header-Name>`;
 * - any other environment variable name (docker/container/process/custom specs):
 *   `environment[name] = secret_ref:<scope>:<name>`.
 * Returns the new wire spec (the input is not modified) and the writes the caller must make
 * to the secret store before storing the spec. Values never appear in errors.
 */
export function extractSecrets(
  wireSpec: Record<string, unknown>,
  secrets: Record<string, string>,
  scope: string,
): { spec: Record<string, unknown>; writes: { ref: SecretRef; value: string }[] } {
  const issues: FleetIssue[] = [];
  if (typeof wireSpec !== "object" || wireSpec === null || Array.isArray(wireSpec)) {
    throw specInvalid([{ path: "", message: "must be an object" }], "spec");
  }
  if (typeof secrets !== "object" || secrets === null || Array.isArray(secrets)) {
    throw specInvalid([{ path: "secrets", message: "must be an object of names to string values" }], "secrets");
  }
  if (!isSecretRefPart(scope)) throw specInvalid([{ path: "scope", message: "must match [A-Za-z0-9_.-]+" }], "secrets");
  const isUrl = wireSpec.type === "url";
  const spec: Record<string, unknown> = { ...wireSpec };
  const writes: { ref: SecretRef; value: string }[] = [];
  // a process spec may spell `environment` as `env` (the mcpServers configs' key): keep its spelling
  const envField = wireSpec.type === "process" && "env" in spec && !("environment" in spec) ? "env" : "environment";
  const objectField = (field: string): Record<string, unknown> => {
    const cur = spec[field];
    const copy =
      typeof cur === "object" && cur !== null && !Array.isArray(cur) ? { ...(cur as Record<string, unknown>) } : {};
    spec[field] = copy;
    return copy;
  };
  for (const name of Object.keys(secrets)) {
    const value = secrets[name];
    const path = `secrets.${name}`;
    if (typeof value !== "string") {
      issues.push({ path, message: "must be a string" });
      continue;
    }
    if (RESERVED.has(name)) {
      issues.push({ path, message: "reserved key is not allowed" });
      continue;
    }
    if (isUrl && (name === "AUTH_TOKEN" || name === "authentication.token")) {
      const ref = { scope, key: "AUTH_TOKEN" };
      const auth = objectField("authentication");
      auth.type = "bearer";
      auth.token = formatSecretRef(ref);
      writes.push({ ref, value });
    } else if (name === "authentication.token") {
      issues.push({ path, message: "only url specs have an authentication token" });
    } else if (name.startsWith("headers.")) {
      const header = name.slice("headers.".length);
      if (!isUrl) issues.push({ path, message: "only url specs have headers" });
      else if (!HEADER_NAME.test(header) || !isSecretRefPart(name))
        issues.push({ path, message: "must name a valid HTTP header" });
      else {
        const ref = { scope, key: name };
        objectField("headers")[header] = formatSecretRef(ref);
        writes.push({ ref, value });
      }
    } else if (isUrl) {
      issues.push({ path, message: "url specs take AUTH_TOKEN or headers.<name> secrets, not environment variables" });
    } else if (!ENV_NAME.test(name)) {
      issues.push({ path, message: "must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)" });
    } else {
      const ref = { scope, key: name };
      objectField(envField)[name] = formatSecretRef(ref);
      writes.push({ ref, value });
    }
  }
  if (issues.length > 0) throw specInvalid(issues, "secrets");
  return { spec, writes };
}
