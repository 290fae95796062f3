import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@mcpfleet/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectKubernetes, kubernetesRuntime } from "../src/index.js";
import { loadKubeConfig } from "../src/kubeconfig.js";
import { FakeApiServer } from "./fake-apiserver/index.js";
import { dockerRequest } from "./helpers.js";

let dir: string;
let fake: FakeApiServer;

function kubeconfigYaml(server: string, token: string, namespace: string) {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: fake\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true`,
    "users:",
    `- name: u\n  user:\n    token: ${token}`,
    "contexts:",
    `- name: ctx\n  context:\n    cluster: fake\n    user: u\n    namespace: ${namespace}`,
    "current-context: ctx",
    "",
  ].join("\n");
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mcpfleet-k8s-"));
  fake = await FakeApiServer.start({ token: "file-token", namespaces: ["from-file"] });
});
afterAll(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("detectKubernetes (ordered, environment injected)", () => {
  const files = (...present: string[]) => ({ fileExists: (p: string) => present.includes(p) });

  it("prefers in-cluster when the service host and a service-account token exist", () => {
    const env = { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443", KUBECONFIG: "/k", HOME: "/h" };
    const d = detectKubernetes(env, { serviceAccountDir: "/sa", ...files("/sa/token", "/k", "/h/.kube/config") });
    expect(d).toMatchObject({ available: true, inCluster: true, source: "in-cluster" });
  });

  it("falls back to KUBECONFIG, then ~/.kube/config, then reports why nothing applies", () => {
    const env = {
      KUBERNETES_SERVICE_HOST: "10.0.0.1",
      KUBERNETES_SERVICE_PORT: "443",
      KUBECONFIG: "/missing:/k",
      HOME: "/h",
    };
    expect(detectKubernetes(env, { serviceAccountDir: "/sa", ...files("/k") })).toMatchObject({
      inCluster: false,
      source: "kubeconfig-env",
      file: "/k",
    });
    expect(detectKubernetes({ HOME: "/h" }, files("/h/.kube/config"))).toMatchObject({
      source: "default-file",
      file: "/h/.kube/config",
    });
    const none = detectKubernetes({}, files());
    expect(none.available).toBe(false);
    expect(none.reason).toContain("KUBECONFIG");
  });
});

describe("loading the kubeconfig", () => {
  it("builds an in-cluster config from the service-account files (token file auth, namespace)", async () => {
    const sa = join(dir, "sa");
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, "token"), "sa-token");
    writeFileSync(join(sa, "namespace"), "team-a\n");
    const loaded = loadKubeConfig(
      { env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "6443" }, serviceAccountDir: sa },
      silentLogger(),
    );
    expect(loaded.source).toBe("in-cluster");
    expect(loaded.namespace).toBe("team-a");
    expect(loaded.kc.getCurrentCluster()?.server).toBe("https://[fd00::1]:6443");
    const opts = await loaded.kc.applyToFetchOptions({});
    expect(new Headers(opts.headers as HeadersInit).get("authorization")).toBe("Bearer sa-token");
  });

  it("deploys through KUBECONFIG (token auth, context namespace) against the fake", async () => {
    const file = join(dir, "kubeconfig");
    writeFileSync(file, kubeconfigYaml(fake.url, "file-token", "from-file"));
    const rt = kubernetesRuntime({ env: { KUBECONFIG: file }, serviceAccountDir: join(dir, "no-sa") });
    await rt.deploy(dockerRequest("via-file"));
    expect(rt.namespace()).toBe("from-file");
    expect(fake.get("Deployment", "from-file", "mcp-via-file")).toBeDefined();
    await rt.close();
  });

  it("uses ~/.kube/config from the injected HOME", async () => {
    const home = join(dir, "home");
    mkdirSync(join(home, ".kube"), { recursive: true });
    writeFileSync(join(home, ".kube", "config"), kubeconfigYaml(fake.url, "wrong-token", "from-file"));
    const rt = kubernetesRuntime({ env: { HOME: home }, serviceAccountDir: join(dir, "no-sa") });
    await expect(rt.inspect("x")).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    await rt.close();
  });

  it("is lazy: a missing configuration fails the first call with RUNTIME_UNAVAILABLE", async () => {
    const rt = kubernetesRuntime({ env: {}, serviceAccountDir: join(dir, "no-sa") });
    await expect(rt.list()).rejects.toMatchObject({ code: "RUNTIME_UNAVAILABLE", isRetryable: false });
    await rt.close();
  });
});

describe("options", () => {
  it("refuses bad options with OPTIONS_INVALID naming the adapter and option", () => {
    expect(() => kubernetesRuntime({ namespace: "Not_Valid" })).toThrow(/\[mcpfleet\/backend-k8s\] option "namespace"/);
    expect(() => kubernetesRuntime({ defaultResources: { limits: { memory: "lots" } } })).toThrow(
      /option "defaultResources.limits.memory"/,
    );
    expect(() => kubernetesRuntime({ bogus: true } as never)).toThrow(
      expect.objectContaining({ code: "OPTIONS_INVALID" }),
    );
    expect(() => kubernetesRuntime({ kubeConfig: {} as never })).toThrow(/option "kubeConfig"/);
  });
});
