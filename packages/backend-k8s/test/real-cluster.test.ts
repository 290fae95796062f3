import { KubeConfig } from "@kubernetes/client-node";
import { runtimeConformance } from "@mcpfleet/core/testing";
import { describe } from "vitest";
import { kubernetesRuntime } from "../src/index.js";
import { dockerRequest } from "./helpers.js";

/**
 * The same conformance suite against a real cluster: opt-in, not part of CI.
 * Needs KUBECONFIG and MCPFLEET_K8S_REAL=1; the namespace (MCPFLEET_K8S_NAMESPACE, default
 * `default`) must exist and the kubeconfig's user needs the README's Role there. The image must
 * run as non-root with a read-only root filesystem and listen on MCPFLEET_K8S_PORT.
 */
const enabled = Boolean(process.env.KUBECONFIG) && process.env.MCPFLEET_K8S_REAL === "1";
const namespace = process.env.MCPFLEET_K8S_NAMESPACE ?? "default";
const image = process.env.MCPFLEET_K8S_IMAGE ?? "nginxinc/nginx-unprivileged:1.27-alpine";
const port = Number(process.env.MCPFLEET_K8S_PORT ?? 8080);

describe.skipIf(!enabled)("real Kubernetes cluster (KUBECONFIG + MCPFLEET_K8S_REAL=1; opt-in, not CI)", () => {
  runtimeConformance(
    "kubernetes (real cluster)",
    () => {
      const kc = new KubeConfig();
      kc.loadFromDefault();
      return kubernetesRuntime({ kubeConfig: kc, namespace });
    },
    {
      request: (id, variant) =>
        dockerRequest(id, {
          variant,
          image,
          spec: { port, healthCheck: undefined, user: "101:101" },
        }),
      crashingRequest: (id) =>
        dockerRequest(id, {
          variant: "b",
          image: "busybox:1.36",
          spec: { port, command: ["sh", "-c", "exit 1"], healthCheck: undefined, user: "65534:65534" },
        }),
      readyTimeoutMs: 120_000,
    },
  );
});
