import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "@mcpfleet/core";
import { adapterTag, optionsError, parseOptions as parseAdapterOptions } from "@mcpfleet/core/adapter";
import { z } from "zod";

const ADAPTER = adapterTag("backend-k8s");

/** Inputs an endpoint resolver gets; returns the URL the gateway should call. */
export interface EndpointContext {
  instanceId: string;
  namespace: string;
  service: string;
  port: number;
  transport: "streamable-http" | "sse";
}

const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/, "must be a Kubernetes quantity");
const resourceList = z.object({ cpu: quantity.optional(), memory: quantity.optional() }).strict();
const labelMap = z.record(z.string(), z.string());

export const optionsSchema = z
  .object({
    /** Namespace the objects live in; default: the kubeconfig context's namespace, else `default`. */
    namespace: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1123 label")
      .max(63)
      .optional(),
    /** Adapter name reported by `runtime.name`. */
    name: z.string().min(1).optional(),
    /** Kubeconfig context to use when loading from a file. */
    context: z.string().min(1).optional(),
    /** Environment to read `KUBERNETES_SERVICE_*`, `KUBECONFIG`, `HOME` from (default `process.env`). */
    env: z.record(z.string(), z.string().optional()).optional(),
    /** Service-account directory for in-cluster config. */
    serviceAccountDir: z.string().min(1).optional(),
    /** Requests and limits applied when the spec has none. */
    defaultResources: z
      .object({ requests: resourceList.optional(), limits: resourceList.optional() })
      .strict()
      .optional(),
    /** Optional Ingress per instance, path `/mcp/<instance>`. */
    ingress: z
      .object({
        className: z.string().min(1).optional(),
        host: z.string().min(1).optional(),
        annotations: labelMap.optional(),
        pathPrefix: z.string().startsWith("/").optional(),
      })
      .strict()
      .optional(),
    /** Optional NetworkPolicy admitting only pods matching `gatewaySelector` (and `namespaceSelector`). */
    networkPolicy: z.object({ gatewaySelector: labelMap, namespaceSelector: labelMap.optional() }).strict().optional(),
    /** Extra labels on every object (not part of selectors). */
    labels: labelMap.optional(),
    /** Image pull secrets for the pods. */
    imagePullSecrets: z.array(z.string().min(1)).optional(),
    /** Service account the pods run as. */
    serviceAccountName: z.string().min(1).optional(),
    /** How long `remove` waits for foreground deletion to finish (ms, default 60 000). */
    removeTimeoutMs: z.number().int().positive().optional(),
    /** Delay before the watch informer restarts after an error (ms, default 1000). */
    watchRetryMs: z.number().int().positive().optional(),
  })
  .strict();

export type KubernetesRuntimeSchemaOptions = z.infer<typeof optionsSchema>;

export interface KubernetesRuntimeOptions extends KubernetesRuntimeSchemaOptions {
  /** A ready KubeConfig (tests, or hosts that build their own). Wins over every other source. */
  kubeConfig?: KubeConfig;
  /** Maps an instance to the URL a gateway reaches it at (default: cluster DNS of the Service). */
  endpointResolver?: (ctx: EndpointContext) => string;
  logger?: Logger;
}

/** Validates options; throws `OPTIONS_INVALID` naming the first bad option. Never echoes values. */
export function parseOptions(options: KubernetesRuntimeOptions): KubernetesRuntimeSchemaOptions {
  const { kubeConfig, endpointResolver, logger, ...rest } = options ?? {};
  if (kubeConfig !== undefined && (typeof kubeConfig !== "object" || typeof kubeConfig.makeApiClient !== "function")) {
    throw optionsError("backend-k8s", "kubeConfig", "must be a KubeConfig");
  }
  if (endpointResolver !== undefined && typeof endpointResolver !== "function") {
    throw optionsError("backend-k8s", "endpointResolver", "must be a function");
  }
  return parseAdapterOptions("backend-k8s", optionsSchema, rest);
}

export { ADAPTER };
