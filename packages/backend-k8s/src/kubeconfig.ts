import { existsSync, readFileSync } from "node:fs";
import { isIPv6 } from "node:net";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { FleetError, type Logger } from "@mcpfleet/core";
import { ADAPTER } from "./options.js";

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export type KubeConfigSource = "injected" | "in-cluster" | "kubeconfig-env" | "default-file";

export interface DetectOptions {
  serviceAccountDir?: string;
  /** File existence check (tests inject one). */
  fileExists?: (path: string) => boolean;
}

export interface KubernetesDetection {
  /** True when a Kubernetes API is configured for this process. */
  available: boolean;
  /** True when running inside a pod with a service account. */
  inCluster: boolean;
  source?: Exclude<KubeConfigSource, "injected">;
  /** Kubeconfig file used (not for in-cluster). */
  file?: string;
  reason: string;
}

type Env = Record<string, string | undefined>;

/**
 * Ordered environment detection: in-cluster (`KUBERNETES_SERVICE_HOST` + `_PORT` + a service-account
 * token), then `KUBECONFIG`, then `~/.kube/config`. Pure apart from file-existence checks.
 */
export function detectKubernetes(env: Env = process.env, options: DetectOptions = {}): KubernetesDetection {
  const exists = options.fileExists ?? existsSync;
  const saDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) {
    if (exists(join(saDir, "token"))) {
      return { available: true, inCluster: true, source: "in-cluster", reason: "KUBERNETES_SERVICE_HOST and token" };
    }
  }
  const fromEnv = (env.KUBECONFIG ?? "")
    .split(process.platform === "win32" ? ";" : ":")
    .filter((f) => f.length > 0)
    .find((f) => exists(f));
  if (fromEnv)
    return { available: true, inCluster: false, source: "kubeconfig-env", file: fromEnv, reason: "KUBECONFIG" };
  const home = env.HOME ?? env.USERPROFILE;
  if (home) {
    const file = join(home, ".kube", "config");
    if (exists(file))
      return { available: true, inCluster: false, source: "default-file", file, reason: "~/.kube/config" };
  }
  return { available: false, inCluster: false, reason: "no in-cluster service account, KUBECONFIG or ~/.kube/config" };
}

export interface LoadedKubeConfig {
  kc: KubeConfig;
  source: KubeConfigSource;
  /** Namespace of the current context (in-cluster: the service account's). */
  namespace?: string;
}

/** Builds a KubeConfig from the detected source. Throws `RUNTIME_UNAVAILABLE` when none is found. */
export function loadKubeConfig(
  opts: { kubeConfig?: KubeConfig; env?: Env; serviceAccountDir?: string; context?: string },
  logger: Logger,
): LoadedKubeConfig {
  if (opts.kubeConfig) {
    logger.debug({ source: "injected" }, "kubeconfig");
    return { kc: opts.kubeConfig, source: "injected", namespace: contextNamespace(opts.kubeConfig) };
  }
  const env = opts.env ?? process.env;
  const saDir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const found = detectKubernetes(env, { serviceAccountDir: saDir });
  logger.debug({ source: found.source ?? null, reason: found.reason }, "kubernetes detection");
  if (!found.available || !found.source) {
    throw new FleetError("RUNTIME_UNAVAILABLE", `${ADAPTER} no Kubernetes configuration: ${found.reason}`, {
      isRetryable: false,
    });
  }
  const kc = new KubeConfig();
  try {
    if (found.source === "in-cluster") {
      const host = env.KUBERNETES_SERVICE_HOST as string;
      const port = env.KUBERNETES_SERVICE_PORT as string;
      const scheme = port === "80" || port === "8080" || port === "8001" ? "http" : "https";
      const nsFile = join(saDir, "namespace");
      const namespace = existsSync(nsFile) ? readFileSync(nsFile, "utf8").trim() : undefined;
      const caFile = join(saDir, "ca.crt");
      kc.loadFromOptions({
        clusters: [
          {
            name: "inCluster",
            server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
            caFile: existsSync(caFile) ? caFile : undefined,
            skipTLSVerify: false,
          },
        ],
        users: [
          { name: "inClusterUser", authProvider: { name: "tokenFile", config: { tokenFile: join(saDir, "token") } } },
        ],
        contexts: [{ name: "inClusterContext", cluster: "inCluster", user: "inClusterUser", namespace }],
        currentContext: "inClusterContext",
      });
      return { kc, source: "in-cluster", namespace };
    }
    kc.loadFromFile(found.file as string);
    if (opts.context) kc.setCurrentContext(opts.context);
  } catch (err) {
    throw new FleetError("RUNTIME_UNAVAILABLE", `${ADAPTER} cannot load Kubernetes configuration (${found.source})`, {
      cause: err,
      isRetryable: false,
    });
  }
  return { kc, source: found.source, namespace: contextNamespace(kc) };
}

function contextNamespace(kc: KubeConfig): string | undefined {
  const name = kc.getCurrentContext();
  return name ? (kc.getContextObject(name)?.namespace ?? undefined) : undefined;
}
