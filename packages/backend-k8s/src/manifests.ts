import type { V1Container, V1EnvVar, V1Probe, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import { type ContainerSpec, type DeployRequest, FleetError, type FleetIssue, specInvalid } from "@mcpfleet/core";
import {
  ANN_GENERATION,
  ANN_INSTANCE_ID,
  ANN_SPEC_HASH,
  ANN_TRANSPORT,
  CONTAINER,
  isLabelKey,
  isLabelValue,
  LABEL_NAME,
  LABEL_SPEC_HASH,
  labelValue,
  objectName,
  selectorLabels,
} from "./names.js";
import { ADAPTER, type KubernetesRuntimeSchemaOptions } from "./options.js";

export const DEFAULT_REQUESTS = { cpu: "100m", memory: "128Mi" };
export const DEFAULT_LIMITS = { cpu: "500m", memory: "256Mi" };
const ENV_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * A wire-format object (JSON keys as the API server spells them). Request bodies are sent as-is, so
 * they are plain objects, not the client's model classes (which rename e.g. `from` to `_from`).
 */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    ownerReferences?: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
      blockOwnerDeletion?: boolean;
    }[];
  };
  [key: string]: unknown;
}

export interface Manifests {
  name: string;
  port: number;
  transport: "streamable-http" | "sse";
  deployment: KubeObject;
  /** Without ownerReferences: the runtime adds them once the Deployment's uid is known. */
  secret: KubeObject;
  service: KubeObject;
  ingress?: KubeObject;
  networkPolicy?: KubeObject;
}

/** Refuses what this runtime cannot run, with a path. */
export function checkSpec(request: DeployRequest): ContainerSpec {
  const spec = request.spec;
  if (spec.type !== "docker") {
    throw new FleetError("UNSUPPORTED", `${ADAPTER} spec type "${spec.type}" is not handled (docker only)`, {
      path: "json_spec.type",
      isRetryable: false,
    });
  }
  const c = spec as ContainerSpec;
  if (c.transport === "stdio") {
    throw new FleetError("UNSUPPORTED", `${ADAPTER} stdio transport is not supported on Kubernetes yet`, {
      path: "json_spec.transport",
      isRetryable: false,
    });
  }
  const issues: FleetIssue[] = [];
  if (!c.image) issues.push({ path: "json_spec.image", message: "is required" });
  if (c.port === undefined) issues.push({ path: "json_spec.port", message: "is required by the Kubernetes runtime" });
  for (const [i, v] of c.volumes.entries()) {
    if (v.kind === "bind") {
      throw new FleetError("HOST_PATH_REFUSED", `${ADAPTER} host bind mounts are refused on Kubernetes`, {
        path: `json_spec.volumes.${i}`,
        isRetryable: false,
      });
    }
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(v.source)) {
      issues.push({ path: `json_spec.volumes.${i}`, message: "volume name must be a PersistentVolumeClaim name" });
    }
  }
  for (const [k, v] of Object.entries(c.labels)) {
    if (!isLabelKey(k) || !isLabelValue(v))
      issues.push({ path: `json_spec.labels.${k}`, message: "not a valid label" });
  }
  for (const k of [...Object.keys(request.env), ...Object.keys(request.secrets.env)]) {
    if (!ENV_KEY.test(k)) issues.push({ path: `json_spec.environment.${k}`, message: "not a valid variable name" });
  }
  if (issues.length > 0) throw specInvalid(issues, "spec for the Kubernetes runtime");
  return c;
}

function quantityMemory(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)}Mi` : String(bytes);
}

function parseQuantity(q: string): number {
  const m = /^([0-9.]+)(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/.exec(q);
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  const mult: Record<string, number> = {
    m: 0.001,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
  };
  return n * (m[2] ? (mult[m[2]] ?? 1) : 1);
}

function resources(spec: ContainerSpec, opts: KubernetesRuntimeSchemaOptions) {
  const limits: Record<string, string> = { ...DEFAULT_LIMITS, ...opts.defaultResources?.limits };
  if (spec.resources?.memoryBytes) limits.memory = quantityMemory(spec.resources.memoryBytes);
  if (spec.resources?.milliCpus) limits.cpu = `${spec.resources.milliCpus}m`;
  const requests: Record<string, string> = { ...DEFAULT_REQUESTS, ...opts.defaultResources?.requests };
  // A request may never exceed its limit (the API server refuses that).
  for (const k of ["cpu", "memory"] as const) {
    const r = requests[k];
    const l = limits[k];
    if (r && l && parseQuantity(r) > parseQuantity(l)) requests[k] = l;
  }
  return { requests, limits };
}

function probe(spec: ContainerSpec, port: number, kind: "readiness" | "liveness"): V1Probe {
  const hc = spec.healthCheck;
  const seconds = (ms: number | undefined, fallback: number) => Math.max(1, Math.round((ms ?? fallback * 1000) / 1000));
  const handler = hc?.path ? { httpGet: { path: hc.path, port } } : { tcpSocket: { port } };
  return {
    ...handler,
    periodSeconds: seconds(hc?.intervalMs, kind === "readiness" ? 5 : 15),
    timeoutSeconds: seconds(hc?.timeoutMs, 3),
    failureThreshold: Math.max(1, hc?.retries ?? 3),
    ...(kind === "liveness" ? { initialDelaySeconds: 5 } : {}),
  };
}

function baseLabels(request: DeployRequest, opts: KubernetesRuntimeSchemaOptions, spec: ContainerSpec) {
  return {
    ...opts.labels,
    ...spec.labels,
    [LABEL_NAME]: labelValue(request.instance.name || "mcp-server"),
    ...selectorLabels(request.instance.id),
    [LABEL_SPEC_HASH]: labelValue(request.instance.specHash),
  };
}

/** Every object for one instance, deterministic for a given request and options. */
export function buildManifests(
  request: DeployRequest,
  namespace: string,
  opts: KubernetesRuntimeSchemaOptions,
): Manifests {
  const spec = checkSpec(request);
  const port = spec.port as number;
  const transport = spec.transport === "sse" ? "sse" : "streamable-http";
  const name = objectName(request.instance.id);
  const labels = baseLabels(request, opts, spec);
  const annotations = {
    [ANN_INSTANCE_ID]: request.instance.id,
    [ANN_SPEC_HASH]: request.instance.specHash,
    [ANN_GENERATION]: String(request.instance.generation),
    [ANN_TRANSPORT]: transport,
  };
  const meta = { name, namespace, labels, annotations };

  const env: V1EnvVar[] = [
    ...Object.keys(request.env)
      .filter((k) => !(k in request.secrets.env))
      .sort()
      .map((k) => ({ name: k, value: request.env[k] as string })),
    ...Object.keys(request.secrets.env)
      .sort()
      .map((k) => ({ name: k, valueFrom: { secretKeyRef: { name, key: k } } })),
  ];

  const volumes: V1Volume[] = [{ name: "tmp", emptyDir: {} }];
  const mounts: V1VolumeMount[] = [{ name: "tmp", mountPath: "/tmp" }];
  for (const [i, v] of spec.volumes.entries()) {
    volumes.push({ name: `vol-${i}`, persistentVolumeClaim: { claimName: v.source, readOnly: v.readOnly } });
    mounts.push({ name: `vol-${i}`, mountPath: v.target, readOnly: v.readOnly });
  }

  const [uid, gid] = (spec.user ?? "").split(":").map((s) => (/^[0-9]+$/.test(s) ? Number(s) : undefined));
  const container: V1Container = {
    name: CONTAINER,
    image: spec.image,
    ...(spec.command?.length ? { command: spec.command } : {}),
    ...(spec.args?.length ? { args: spec.args } : {}),
    ports: [{ name: "mcp", containerPort: port, protocol: "TCP" }],
    ...(env.length ? { env } : {}),
    resources: resources(spec, opts),
    readinessProbe: probe(spec, port, "readiness"),
    livenessProbe: probe(spec, port, "liveness"),
    volumeMounts: mounts,
    securityContext: {
      runAsNonRoot: true,
      ...(uid !== undefined ? { runAsUser: uid } : {}),
      ...(gid !== undefined ? { runAsGroup: gid } : {}),
      readOnlyRootFilesystem: spec.readOnlyRootFilesystem ?? true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
  };

  const deployment: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta,
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: selectorLabels(request.instance.id) },
      template: {
        metadata: { labels, annotations: { [ANN_SPEC_HASH]: request.instance.specHash } },
        spec: {
          containers: [container],
          volumes,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          ...(opts.serviceAccountName ? { serviceAccountName: opts.serviceAccountName } : {}),
          ...(opts.imagePullSecrets?.length
            ? { imagePullSecrets: opts.imagePullSecrets.map((n) => ({ name: n })) }
            : {}),
        },
      },
    },
  };

  const data: Record<string, string> = {};
  for (const k of Object.keys(request.secrets.env).sort()) {
    data[k] = Buffer.from(request.secrets.env[k] as string, "utf8").toString("base64");
  }
  const secret: KubeObject = { apiVersion: "v1", kind: "Secret", metadata: meta, type: "Opaque", data };

  const service: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta,
    spec: {
      type: "ClusterIP",
      selector: selectorLabels(request.instance.id),
      ports: [{ name: "mcp", port, targetPort: port, protocol: "TCP" }],
    },
  };

  const out: Manifests = { name, port, transport, deployment, secret, service };
  if (opts.ingress) {
    const prefix = (opts.ingress.pathPrefix ?? "/mcp").replace(/\/+$/, "");
    out.ingress = {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { ...meta, annotations: { ...annotations, ...opts.ingress.annotations } },
      spec: {
        ...(opts.ingress.className ? { ingressClassName: opts.ingress.className } : {}),
        rules: [
          {
            ...(opts.ingress.host ? { host: opts.ingress.host } : {}),
            http: {
              paths: [
                {
                  path: `${prefix}/${encodeURIComponent(request.instance.id)}`,
                  pathType: "Prefix",
                  backend: { service: { name, port: { number: port } } },
                },
              ],
            },
          },
        ],
      },
    };
  }
  if (opts.networkPolicy) {
    out.networkPolicy = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta,
      spec: {
        podSelector: { matchLabels: selectorLabels(request.instance.id) },
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [
              {
                podSelector: { matchLabels: opts.networkPolicy.gatewaySelector },
                ...(opts.networkPolicy.namespaceSelector
                  ? { namespaceSelector: { matchLabels: opts.networkPolicy.namespaceSelector } }
                  : {}),
              },
            ],
            ports: [{ port, protocol: "TCP" }],
          },
        ],
      },
    };
  }
  return out;
}
