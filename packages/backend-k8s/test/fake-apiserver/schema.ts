import * as k8s from "@kubernetes/client-node";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Pod } from "kubernetes-models/v1/Pod";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import type { ResourceInfo } from "./resources.js";
import type { JsonObject } from "./ssa.js";
import { ApiError } from "./status.js";

type Validatable = { validate(): void };
const MODELS: Record<string, new (obj: any) => Validatable> = {
  Deployment,
  Service,
  Secret,
  Pod,
  Ingress,
  NetworkPolicy,
  Namespace,
};

interface Cause {
  reason: string;
  message: string;
  field: string;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

function checkKey(key: string): boolean {
  const parts = key.split("/");
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1] as string;
  if (parts.length === 2 && (!DNS1123_SUBDOMAIN.test(parts[0] as string) || (parts[0] as string).length > 253))
    return false;
  return name.length <= 63 && QUALIFIED_NAME.test(name);
}

/** Strict decoding: every field must exist in the OpenAPI schema (client-node's generated models). */
function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) {
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) unknownFields(v, arr[1] as string, `${path}[${i}]`, out);
    }
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === "object") {
      for (const [k, v] of Object.entries(value as object)) unknownFields(v, map[1] as string, `${path}.${k}`, out);
    }
    return;
  }
  const cls = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => { baseName: string; type: string }[] }>)[
    type
  ];
  if (!cls?.getAttributeTypeMap || typeof value !== "object" || Array.isArray(value)) return;
  const attrs = new Map(cls.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value as object)) {
    const t = attrs.get(k);
    if (t === undefined) out.push(`${path ? `${path}.` : ""}${k}`);
    else unknownFields(v, t, path ? `${path}.${k}` : k, out);
  }
}

/** Refuses fields the schema does not declare, as a strict decoder does (HTTP 400). */
export function checkUnknownFields(info: ResourceInfo, obj: JsonObject): void {
  const out: string[] = [];
  unknownFields(obj, `V1${info.kind}`, "", out);
  if (out.length > 0) {
    throw new ApiError(
      400,
      "BadRequest",
      `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: strict decoding error: ${out
        .map((f) => `unknown field "${f}"`)
        .join(", ")}`,
    );
  }
}

function ajvPath(instancePath: string): string {
  return instancePath
    .split("/")
    .filter((s) => s.length > 0)
    .map((s, i) => (/^[0-9]+$/.test(s) ? `[${s}]` : i === 0 ? s : `.${s}`))
    .join("");
}

function semanticCauses(info: ResourceInfo, obj: JsonObject): Cause[] {
  const causes: Cause[] = [];
  const meta = (obj.metadata ?? {}) as JsonObject;
  const name = String(meta.name ?? "");
  const nameRe = info.kind === "Service" ? DNS1035_LABEL : DNS1123_SUBDOMAIN;
  if (!name)
    causes.push({
      reason: "FieldValueRequired",
      message: "Required value: name or generateName is required",
      field: "metadata.name",
    });
  else if (!nameRe.test(name) || name.length > (info.kind === "Service" ? 63 : 253)) {
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: "${name}": a lowercase RFC 1123 name`,
      field: "metadata.name",
    });
  }
  for (const [k, v] of Object.entries((meta.labels ?? {}) as Record<string, string>)) {
    if (!checkKey(k))
      causes.push({
        reason: "FieldValueInvalid",
        message: `Invalid value: "${k}": name part must consist of alphanumeric characters`,
        field: "metadata.labels",
      });
    if (typeof v !== "string" || v.length > 63 || !LABEL_VALUE.test(v)) {
      causes.push({
        reason: "FieldValueInvalid",
        message: `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.' (max 63)`,
        field: `metadata.labels`,
      });
    }
  }
  for (const k of Object.keys((meta.annotations ?? {}) as object)) {
    if (!checkKey(k))
      causes.push({ reason: "FieldValueInvalid", message: `Invalid value: "${k}"`, field: "metadata.annotations" });
  }
  const spec = (obj.spec ?? {}) as any;
  if (info.kind === "Deployment") {
    const sel = (spec.selector?.matchLabels ?? {}) as Record<string, string>;
    const tpl = (spec.template?.metadata?.labels ?? {}) as Record<string, string>;
    if (Object.keys(sel).length === 0)
      causes.push({
        reason: "FieldValueInvalid",
        message: "Invalid value: empty selector is invalid for deployment",
        field: "spec.selector",
      });
    if (Object.entries(sel).some(([k, v]) => tpl[k] !== v)) {
      causes.push({
        reason: "FieldValueInvalid",
        message: "Invalid value: `selector` does not match template `labels`",
        field: "spec.template.metadata.labels",
      });
    }
    const pod = spec.template?.spec ?? {};
    if (pod.restartPolicy && pod.restartPolicy !== "Always")
      causes.push({
        reason: "FieldValueNotSupported",
        message: `Unsupported value: "${pod.restartPolicy}"`,
        field: "spec.template.spec.restartPolicy",
      });
    causes.push(...podSpecCauses(pod, "spec.template.spec"));
  }
  if (info.kind === "Pod") causes.push(...podSpecCauses(spec, "spec"));
  if (info.kind === "Service") {
    for (const [i, p] of ((spec.ports ?? []) as any[]).entries()) {
      if (!(p.port >= 1 && p.port <= 65535))
        causes.push({
          reason: "FieldValueInvalid",
          message: `Invalid value: ${p.port}: must be between 1 and 65535`,
          field: `spec.ports[${i}].port`,
        });
    }
  }
  if (info.kind === "Secret") {
    for (const [k, v] of Object.entries((obj.data ?? {}) as Record<string, string>)) {
      if (!/^[-._a-zA-Z0-9]+$/.test(k))
        causes.push({
          reason: "FieldValueInvalid",
          message: `Invalid value: "${k}": a valid config key`,
          field: `data[${k}]`,
        });
      if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
        causes.push({ reason: "FieldValueInvalid", message: "illegal base64 data", field: `data[${k}]` });
      }
    }
  }
  return causes;
}

function cpu(q: string): number {
  return q.endsWith("m") ? Number(q.slice(0, -1)) / 1000 : Number(q);
}
function mem(q: string): number {
  const m = /^([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  const mult: Record<string, number> = {
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return m ? Number(m[1]) * (m[2] ? (mult[m[2]] ?? 1) : 1) : Number.NaN;
}

function podSpecCauses(pod: any, at: string): Cause[] {
  const causes: Cause[] = [];
  const names = new Set<string>();
  const volumes = new Set(((pod.volumes ?? []) as any[]).map((v) => v.name));
  for (const [i, c] of ((pod.containers ?? []) as any[]).entries()) {
    const p = `${at}.containers[${i}]`;
    if (!DNS1123_LABEL.test(c.name ?? ""))
      causes.push({ reason: "FieldValueInvalid", message: `Invalid value: "${c.name}"`, field: `${p}.name` });
    if (names.has(c.name))
      causes.push({ reason: "FieldValueDuplicate", message: `Duplicate value: "${c.name}"`, field: `${p}.name` });
    names.add(c.name);
    if (!c.image) causes.push({ reason: "FieldValueRequired", message: "Required value", field: `${p}.image` });
    for (const [j, port] of ((c.ports ?? []) as any[]).entries()) {
      if (!(port.containerPort >= 1 && port.containerPort <= 65535))
        causes.push({
          reason: "FieldValueInvalid",
          message: `Invalid value: ${port.containerPort}`,
          field: `${p}.ports[${j}].containerPort`,
        });
    }
    for (const [j, m] of ((c.volumeMounts ?? []) as any[]).entries()) {
      if (!volumes.has(m.name))
        causes.push({
          reason: "FieldValueNotFound",
          message: `Not found: "${m.name}"`,
          field: `${p}.volumeMounts[${j}].name`,
        });
    }
    for (const [j, e] of ((c.env ?? []) as any[]).entries()) {
      if (e.value !== undefined && e.valueFrom !== undefined)
        causes.push({
          reason: "FieldValueInvalid",
          message: "Invalid value: may not be specified when `value` is not empty",
          field: `${p}.env[${j}].valueFrom`,
        });
    }
    const lim = c.resources?.limits ?? {};
    const req = c.resources?.requests ?? {};
    if (req.cpu && lim.cpu && cpu(req.cpu) > cpu(lim.cpu))
      causes.push({
        reason: "FieldValueInvalid",
        message: `Invalid value: "${req.cpu}": must be less than or equal to cpu limit of ${lim.cpu}`,
        field: `${p}.resources.requests`,
      });
    if (req.memory && lim.memory && mem(req.memory) > mem(lim.memory))
      causes.push({
        reason: "FieldValueInvalid",
        message: `Invalid value: "${req.memory}": must be less than or equal to memory limit of ${lim.memory}`,
        field: `${p}.resources.requests`,
      });
    for (const probe of ["readinessProbe", "livenessProbe"]) {
      const pr = c[probe];
      if (pr && [pr.httpGet, pr.tcpSocket, pr.exec, pr.grpc].filter(Boolean).length !== 1) {
        causes.push({
          reason: "FieldValueRequired",
          message: "Required value: must specify a handler type",
          field: `${p}.${probe}`,
        });
      }
    }
  }
  if (names.size === 0)
    causes.push({ reason: "FieldValueRequired", message: "Required value", field: `${at}.containers` });
  return causes;
}

/** Validates a whole object against the Kubernetes schema plus the server's semantic checks; 422 on failure. */
export function validateObject(info: ResourceInfo, obj: JsonObject): void {
  const Model = MODELS[info.kind];
  const causes: Cause[] = [];
  if (Model) {
    try {
      new Model(obj).validate();
    } catch (err) {
      const errors = ((err as { errors?: { instancePath: string; message?: string }[] }).errors ?? []) as {
        instancePath: string;
        message?: string;
      }[];
      for (const e of errors)
        causes.push({
          reason: "FieldValueInvalid",
          message: `Invalid value: ${e.message ?? "invalid"}`,
          field: ajvPath(e.instancePath),
        });
      if (errors.length === 0)
        causes.push({ reason: "FieldValueInvalid", message: String((err as Error).message), field: "" });
    }
  }
  causes.push(...semanticCauses(info, obj));
  if (causes.length > 0) {
    const name = String((obj.metadata as JsonObject | undefined)?.name ?? "");
    const qualified = info.group ? `${info.kind}.${info.group}` : info.kind;
    throw new ApiError(
      422,
      "Invalid",
      `${qualified} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(", ")}`,
      { name, ...(info.group ? { group: info.group } : {}), kind: info.kind, causes },
    );
  }
}
