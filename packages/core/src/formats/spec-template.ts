import { type FleetIssue, specInvalid } from "../errors.js";
import { isRecord } from "../spec/issues.js";

/** A value a catalog entry asks for (from a registry `server.json`: env vars, arguments, headers, URL variables). */
export interface TemplateVariable {
  name: string;
  description?: string;
  required: boolean;
  /** Goes to the secret store (never into the spec). */
  secret: boolean;
  default?: string;
  choices?: string[];
  format?: "string" | "number" | "boolean" | "filepath";
  /** Takes a list of values (a repeated argument). */
  repeated?: boolean;
}

/** Command-line tokens emitted together; left out when an optional variable in them has no value. */
export interface ArgGroup {
  tokens: string[];
  vars: string[];
  /** The variable whose list of values repeats the group. */
  repeat?: string;
  /** A boolean flag: the tokens appear when this variable is true. */
  flag?: string;
}

/** An environment variable (or header) whose value is a `{variable}` template. */
export interface ValueTemplate {
  name: string;
  text: string;
  vars: string[];
  secret: boolean;
}

/**
 * A spec template: plain JSON (storable), turned into a json_spec with {@link instantiateSpecTemplate}.
 * `{name}` in tokens, values and the endpoint are the variables' values.
 */
export interface SpecTemplate {
  kind: "process" | "docker" | "url";
  /** What it was made from: `npm:@scope/pkg@1.2.3`, `pypi:pkg==1.0`, `oci:image`, `remote:0`. */
  source: string;
  /** The wire json_spec before arguments, environment, headers and endpoint are added. */
  base: Record<string, unknown>;
  args: ArgGroup[];
  env: ValueTemplate[];
  headers: ValueTemplate[];
  endpoint?: string;
  /** A package's own HTTP endpoint template (`http://localhost:{port}/mcp`): its port is the spec's `port`. */
  localUrl?: string;
  variables: TemplateVariable[];
}

export type TemplateValues = Record<string, string | number | boolean | string[]>;

const VAR = /\{([a-zA-Z_][a-zA-Z0-9_.-]*)\}/g;
/** The `{variables}` a template string uses. */
export function templateVars(text: string): string[] {
  return [...new Set([...text.matchAll(VAR)].map((m) => m[1]!))];
}
const fill = (text: string, values: Record<string, string>) =>
  text.replace(VAR, (m, name: string) => (Object.hasOwn(values, name) ? values[name]! : m));

/**
 * Builds `{ json_spec, secrets }` for `instances.create` from a template and the caller's values
 * (defaults applied; `choices` and `format` checked; secret variables go to `secrets`, by env var name
 * or `headers.<Name>`). Missing required values and bad ones: `SPEC_INVALID` at `values.<name>`.
 */
export function instantiateSpecTemplate(
  template: SpecTemplate,
  values: TemplateValues = {},
): { json_spec: Record<string, unknown>; secrets: Record<string, string> } {
  if (!isRecord(values)) throw specInvalid([{ path: "values", message: "must be an object" }], "values");
  const issues: FleetIssue[] = [];
  const scalar: Record<string, string> = {};
  const lists: Record<string, string[]> = {};
  const known = new Set(template.variables.map((v) => v.name));
  for (const name of Object.keys(values))
    if (!known.has(name)) issues.push({ path: `values.${name}`, message: "is not a variable of this entry" });
  for (const v of template.variables) {
    const path = `values.${v.name}`;
    const given = Object.hasOwn(values, v.name) ? values[v.name] : undefined;
    const raw = given === undefined || given === "" ? v.default : given;
    if (raw === undefined) {
      if (v.required) issues.push({ path, message: `is required${v.description ? ` (${v.description})` : ""}` });
      continue;
    }
    const list = Array.isArray(raw) ? raw : [raw];
    if (Array.isArray(raw) && !v.repeated) {
      issues.push({ path, message: "takes one value, not a list" });
      continue;
    }
    const strings: string[] = [];
    for (const item of list) {
      if (typeof item !== "string" && typeof item !== "number" && typeof item !== "boolean") {
        issues.push({ path, message: "must be a string, number or boolean" });
        break;
      }
      const s = String(item);
      if (/[\0\r\n]/.test(s)) issues.push({ path, message: "must not contain NUL, CR or LF" });
      else if (v.choices && v.choices.length > 0 && !v.choices.includes(s))
        issues.push({ path, message: `must be one of ${v.choices.join(", ")}` });
      else if (v.format === "number" && !Number.isFinite(Number(s))) issues.push({ path, message: "must be a number" });
      else if (v.format === "boolean" && s !== "true" && s !== "false")
        issues.push({ path, message: "must be true or false" });
      else strings.push(s);
    }
    if (v.repeated) lists[v.name] = strings;
    if (strings.length > 0) scalar[v.name] = strings[0]!;
  }
  const secretVars = new Set(template.variables.filter((v) => v.secret).map((v) => v.name));
  const args: string[] = [];
  for (const g of template.args) {
    if (g.vars.some((n) => secretVars.has(n) && scalar[n] !== undefined)) {
      issues.push({
        path: `values.${g.vars.find((n) => secretVars.has(n))}`,
        message: "is a secret command-line argument: arguments are visible in the process list, so it is refused",
      });
      continue;
    }
    if (g.flag !== undefined) {
      if (scalar[g.flag] === "true") args.push(...g.tokens);
      continue;
    }
    if (g.vars.some((n) => scalar[n] === undefined)) continue;
    const reps = g.repeat && lists[g.repeat] ? lists[g.repeat]! : [undefined];
    for (const r of reps) {
      const vals = r === undefined ? scalar : { ...scalar, [g.repeat!]: r };
      args.push(...g.tokens.map((t) => fill(t, vals)));
    }
  }
  const secrets: Record<string, string> = {};
  const literal: Record<string, string> = {};
  const place = (t: ValueTemplate, key: string) => {
    if (t.vars.some((n) => scalar[n] === undefined)) return;
    const value = fill(t.text, scalar);
    if (t.secret || t.vars.some((n) => secretVars.has(n))) secrets[key] = value;
    else literal[t.name] = value;
  };
  for (const t of template.env) place(t, t.name);
  const envLiteral = { ...literal };
  for (const k of Object.keys(literal)) delete literal[k];
  for (const t of template.headers) place(t, `headers.${t.name}`);
  const spec: Record<string, unknown> = structuredClone(template.base);
  if (args.length > 0) spec.args = [...(Array.isArray(spec.args) ? (spec.args as string[]) : []), ...args];
  const merged = (field: string, add: Record<string, string>) => {
    const cur = isRecord(spec[field]) ? (spec[field] as Record<string, unknown>) : {};
    if (Object.keys(add).length > 0) spec[field] = { ...cur, ...add };
  };
  merged("environment", envLiteral);
  merged("headers", literal);
  if (template.endpoint !== undefined) {
    for (const n of templateVars(template.endpoint))
      if (secretVars.has(n)) issues.push({ path: `values.${n}`, message: "is a secret in a URL: refused" });
    const endpoint = fill(template.endpoint, scalar);
    for (const n of templateVars(endpoint))
      if (!issues.some((i) => i.path === `values.${n}`))
        issues.push({ path: `values.${n}`, message: "is required (used in the URL)" });
    spec.endpoint = endpoint;
  }
  if (template.localUrl !== undefined) {
    const u = fill(template.localUrl, scalar);
    const port = URL.canParse(u) ? Number(new URL(u).port) : Number.NaN;
    if (Number.isInteger(port) && port > 0) spec.port = port;
    else issues.push({ path: "values", message: `the package's URL ${template.localUrl} needs a port` });
  }
  if (issues.length > 0) throw specInvalid(issues, "catalog values");
  return { json_spec: spec, secrets };
}
