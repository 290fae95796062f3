import type { RuntimeEvent } from "@mcpfleet/core";
import { describe, expect, it } from "vitest";
import { kubernetesRuntime } from "../src/index.js";
import { NS, until, useFakeRuntime } from "./fake-runtime.js";
import { CANARY, dockerRequest } from "./helpers.js";

const ctx = useFakeRuntime();
const running = (id: string) => until(async () => (await ctx.rt.inspect(id))?.phase === "running", `${id} running`);
const dep = (id: string) => ctx.fake.get("Deployment", NS, `mcp-${id}`) as any;

describe("objects written per instance", () => {
  it("writes a Deployment, a Secret owned by it and a ClusterIP Service, all labelled", async () => {
    await ctx.rt.deploy(dockerRequest("objs"));
    const d = dep("objs");
    const secret = ctx.fake.get("Secret", NS, "mcp-objs") as any;
    const svc = ctx.fake.get("Service", NS, "mcp-objs") as any;
    for (const o of [d, secret, svc]) {
      expect(o.metadata.labels).toMatchObject({
        "app.kubernetes.io/name": expect.any(String),
        "app.kubernetes.io/instance": "mcp-objs",
        "app.kubernetes.io/managed-by": "mcpfleet",
        "mcpfleet.instance-id": "objs",
        "mcpfleet.spec-hash": "hash-a-ok",
      });
    }
    expect(secret.metadata.ownerReferences).toEqual([
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: "mcp-objs",
        uid: d.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(svc.spec.type).toBe("ClusterIP");
    expect(svc.spec.ports).toEqual([{ name: "mcp", port: 3001, targetPort: 3001, protocol: "TCP" }]);
    expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
    const obs = await running("objs");
    expect(obs).toBe(true);
    const seen = await ctx.rt.inspect("objs");
    expect(seen?.endpoint).toBe(`http://mcp-objs.${NS}.svc.cluster.local:3001/mcp`);
    expect(seen?.replicas).toEqual({ desired: 1, ready: 1 });
  });

  it("passes secrets only through secretKeyRef; the canary is in no Deployment, Service, pod, log or event", async () => {
    const events: RuntimeEvent[] = [];
    const ctrl = new AbortController();
    const watching = (async () => {
      for await (const ev of ctx.rt.watch({ signal: ctrl.signal })) events.push(ev);
    })();
    await ctx.rt.deploy(dockerRequest("canary"));
    await running("canary");
    const c = dep("canary").spec.template.spec.containers[0];
    expect(c.env).toEqual([
      { name: "LOG_LEVEL", value: "info" },
      { name: "API_KEY", valueFrom: { secretKeyRef: { name: "mcp-canary", key: "API_KEY" } } },
    ]);
    const secret = ctx.fake.get("Secret", NS, "mcp-canary") as any;
    expect(Buffer.from(secret.data.API_KEY, "base64").toString()).toBe(CANARY);
    const readable = [
      ...ctx.fake.list("Deployment"),
      ...ctx.fake.list("Service"),
      ...ctx.fake.list("Pod"),
      ...ctx.fake.requests.filter((r) => !r.path.includes("/secrets/")).map((r) => r.body),
    ];
    expect(JSON.stringify(readable)).not.toContain(CANARY);
    expect(JSON.stringify(readable)).not.toContain(Buffer.from(CANARY).toString("base64"));
    const lines = [];
    for await (const l of ctx.rt.logs("canary")) lines.push(l);
    expect(lines.length).toBeGreaterThan(0);
    await until(async () => events.some((e) => e.instanceId === "canary"), "watch event");
    ctrl.abort();
    await watching;
    expect(JSON.stringify([lines, events, ctx.logger.lines])).not.toContain(CANARY);
  });

  it("hardens the pod: non-root, read-only root with /tmp emptyDir, no escalation, drop ALL, RuntimeDefault seccomp", async () => {
    await ctx.rt.deploy(dockerRequest("sec"));
    const pod = dep("sec").spec.template.spec;
    const c = pod.containers[0];
    expect(c.securityContext).toEqual({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    expect(pod.volumes).toContainEqual({ name: "tmp", emptyDir: {} });
    expect(c.volumeMounts).toContainEqual({ name: "tmp", mountPath: "/tmp" });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it("applies default resources, or the spec's limits with requests capped at them", async () => {
    await ctx.rt.deploy(dockerRequest("res-default"));
    expect(dep("res-default").spec.template.spec.containers[0].resources).toEqual({
      requests: { cpu: "100m", memory: "128Mi" },
      limits: { cpu: "500m", memory: "256Mi" },
    });
    await ctx.rt.deploy(
      dockerRequest("res-spec", {
        spec: { resources: { memoryBytes: 64 * 1024 * 1024, milliCpus: 50, memoryLimit: "64m", cpuLimit: "0.05" } },
      }),
    );
    expect(dep("res-spec").spec.template.spec.containers[0].resources).toEqual({
      requests: { cpu: "50m", memory: "64Mi" },
      limits: { cpu: "50m", memory: "64Mi" },
    });
  });

  it("derives probes from the health check: httpGet with a path, tcpSocket without", async () => {
    await ctx.rt.deploy(dockerRequest("probe-http"));
    const c = dep("probe-http").spec.template.spec.containers[0];
    expect(c.readinessProbe).toMatchObject({
      httpGet: { path: "/health", port: 3001 },
      periodSeconds: 10,
      timeoutSeconds: 2,
      failureThreshold: 3,
    });
    expect(c.livenessProbe).toMatchObject({ httpGet: { path: "/health", port: 3001 } });
    await ctx.rt.deploy(
      dockerRequest("probe-tcp", { spec: { healthCheck: { intervalMs: 5000, timeoutMs: 1000, retries: 2 } } }),
    );
    const t = dep("probe-tcp").spec.template.spec.containers[0];
    expect(t.readinessProbe).toMatchObject({ tcpSocket: { port: 3001 }, periodSeconds: 5, failureThreshold: 2 });
    expect(t.readinessProbe.httpGet).toBeUndefined();
    expect(t.livenessProbe.tcpSocket).toEqual({ port: 3001 });
  });

  it("uses replicas, command and args from the spec", async () => {
    await ctx.rt.deploy(
      dockerRequest("shape", { spec: { replicas: 2, command: ["node"], args: ["server.js", "--port", "3001"] } }),
    );
    const d = dep("shape");
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.template.spec.containers[0].command).toEqual(["node"]);
    expect(d.spec.template.spec.containers[0].args).toEqual(["server.js", "--port", "3001"]);
    await until(async () => (await ctx.rt.inspect("shape"))?.replicas?.ready === 2, "2 ready");
    expect(
      ctx.fake.list("Pod", NS).filter((p: any) => p.metadata.labels["mcpfleet.instance-id"] === "shape"),
    ).toHaveLength(2);
  });
});

describe("server-side apply", () => {
  it("sends apply patches with field manager mcpfleet and force", async () => {
    const before = ctx.fake.requests.length;
    await ctx.rt.deploy(dockerRequest("ssa-req"));
    const patches = ctx.fake.requests.slice(before).filter((r) => r.method === "PATCH");
    expect(patches.map((p) => p.path.split("/").slice(-2, -1)[0])).toEqual(["deployments", "secrets", "services"]);
    for (const p of patches) {
      expect(p.contentType).toBe("application/apply-patch+yaml");
      expect(p.query).toMatchObject({ fieldManager: "mcpfleet", force: "true" });
    }
  });

  it("re-applying the same request changes nothing (same resourceVersion and generation)", async () => {
    await ctx.rt.deploy(dockerRequest("idem"));
    await running("idem");
    const snap = () =>
      ["Deployment", "Secret", "Service"].map((k) => {
        const o = ctx.fake.get(k, NS, "mcp-idem") as any;
        return [o.metadata.resourceVersion, o.metadata.generation];
      });
    const first = snap();
    await ctx.rt.deploy(dockerRequest("idem"));
    await ctx.rt.deploy(dockerRequest("idem"));
    expect(snap()).toEqual(first);
  });

  it("corrects drift made by another field manager", async () => {
    await ctx.rt.deploy(dockerRequest("drift"));
    ctx.fake.edit("Deployment", NS, "mcp-drift", (o) => {
      o.spec.replicas = 4;
      o.spec.template.spec.containers[0].image = "evil/image:latest";
      o.metadata.labels["mcpfleet.spec-hash"] = "tampered";
    });
    const drifted = dep("drift");
    expect(drifted.spec.replicas).toBe(4);
    expect(drifted.metadata.managedFields.map((m: any) => m.manager)).toContain("kubectl-edit");
    await ctx.rt.deploy(dockerRequest("drift"));
    const fixed = dep("drift");
    expect(fixed.spec.replicas).toBe(1);
    expect(fixed.spec.template.spec.containers[0].image).toBe("ghcr.io/example/mcp-everything:1.0");
    expect(fixed.metadata.labels["mcpfleet.spec-hash"]).toBe("hash-a-ok");
    const mine = fixed.metadata.managedFields.find((m: any) => m.manager === "mcpfleet");
    expect(mine.fieldsV1["f:spec"]["f:replicas"]).toEqual({});
    expect(fixed.metadata.managedFields.some((m: any) => m.manager === "kubectl-edit")).toBe(false);
  });

  it("a new spec hash rolls the pods and drops fields no longer applied", async () => {
    await ctx.rt.deploy(dockerRequest("roll", { variant: "b" }));
    await running("roll");
    const oldPods = ctx.fake.list("Pod", NS).filter((p: any) => p.metadata.labels["mcpfleet.instance-id"] === "roll");
    expect(dep("roll").spec.template.spec.containers[0].env.map((e: any) => e.name)).toContain("EXTRA");
    await ctx.rt.deploy(dockerRequest("roll", { variant: "a" }));
    expect(dep("roll").spec.template.spec.containers[0].env.map((e: any) => e.name)).not.toContain("EXTRA");
    await until(async () => {
      const o = await ctx.rt.inspect("roll");
      return o?.phase === "running" && o.specHash === "hash-a-ok";
    }, "rollout");
    const newPods = ctx.fake.list("Pod", NS).filter((p: any) => p.metadata.labels["mcpfleet.instance-id"] === "roll");
    expect(newPods.map((p: any) => p.metadata.name)).not.toEqual(oldPods.map((p: any) => p.metadata.name));
  });
});

describe("ingress, network policy and endpoints", () => {
  it("writes an Ingress on /mcp/<instance> and a NetworkPolicy admitting only the gateway, and removes them", async () => {
    const resolved: unknown[] = [];
    const edge = kubernetesRuntime({
      kubeConfig: ctx.fake.kubeConfig(),
      namespace: NS,
      ingress: {
        className: "nginx",
        host: "mcp.example.com",
        annotations: { "nginx.ingress.kubernetes.io/proxy-buffering": "off" },
      },
      networkPolicy: { gatewaySelector: { "app.kubernetes.io/name": "mcp-gateway" } },
      endpointResolver: (ctx) => {
        resolved.push(ctx);
        return `https://mcp.example.com/mcp/${ctx.instanceId}`;
      },
    });
    const seen = await edge.deploy(dockerRequest("edge"));
    expect(seen.endpoint).toBe("https://mcp.example.com/mcp/edge");
    expect(resolved[0]).toEqual({
      instanceId: "edge",
      namespace: NS,
      service: "mcp-edge",
      port: 3001,
      transport: "streamable-http",
    });
    const ing = ctx.fake.get("Ingress", NS, "mcp-edge") as any;
    expect(ing.spec.ingressClassName).toBe("nginx");
    expect(ing.metadata.annotations["nginx.ingress.kubernetes.io/proxy-buffering"]).toBe("off");
    expect(ing.spec.rules[0]).toEqual({
      host: "mcp.example.com",
      http: {
        paths: [
          { path: "/mcp/edge", pathType: "Prefix", backend: { service: { name: "mcp-edge", port: { number: 3001 } } } },
        ],
      },
    });
    const np = ctx.fake.get("NetworkPolicy", NS, "mcp-edge") as any;
    expect(np.spec.podSelector.matchLabels["mcpfleet.instance-id"]).toBe("edge");
    expect(np.spec.policyTypes).toEqual(["Ingress"]);
    expect(np.spec.ingress).toEqual([
      {
        from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "mcp-gateway" } } }],
        ports: [{ port: 3001, protocol: "TCP" }],
      },
    ]);
    await edge.remove("edge");
    expect(ctx.fake.get("Ingress", NS, "mcp-edge")).toBeUndefined();
    expect(ctx.fake.get("NetworkPolicy", NS, "mcp-edge")).toBeUndefined();
    await edge.close();
  });

  it("names objects deterministically even for ids that are not DNS labels", async () => {
    const id = "Weird_ID/with spaces and a very long tail that goes on and on and on";
    await ctx.rt.deploy(dockerRequest(id));
    const listed = (await ctx.rt.list()).find((o) => o.instanceId === id);
    expect(listed?.specHash).toBe("hash-a-ok");
    expect((await ctx.rt.inspect(id))?.instanceId).toBe(id);
    await ctx.rt.remove(id);
    expect(await ctx.rt.inspect(id)).toBeUndefined();
  });
});
