import { AppsV1Api, CoreV1Api, makeInformer, type V1Deployment } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeApiServer } from "./fake-apiserver/index.js";

// The fake is a test instrument; these tests pin the REST semantics the runtime relies on.
let fake: FakeApiServer;
const NS = "proto";
const base = () => `${fake.url}/apis/apps/v1/namespaces/${NS}/deployments`;

function deployment(name: string, extra: Record<string, unknown> = {}, labels: Record<string, string> = { app: name }) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "img:1" }] } },
      ...extra,
    },
  };
}

async function apply(name: string, body: unknown, query = "fieldManager=test&force=true") {
  const res = await fetch(`${base()}/${name}?${query}`, {
    method: "PATCH",
    headers: { "Content-Type": "application/apply-patch+yaml" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

beforeAll(async () => {
  fake = await FakeApiServer.start({ namespaces: [NS] });
});
afterAll(() => fake.close());

describe("fake API server: REST semantics", () => {
  it("answers 404 with a Status body shaped like kube-apiserver's", async () => {
    const res = await fetch(`${base()}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'deployments.apps "nope" not found',
      reason: "NotFound",
      details: { name: "nope", group: "apps", kind: "deployments" },
      code: 404,
    });
  });

  it("creates on apply (201), then updates (200) with uid, resourceVersion, generation and managedFields", async () => {
    const first = await apply("a", deployment("a"));
    expect(first.status).toBe(201);
    expect(first.body.metadata).toMatchObject({ name: "a", namespace: NS, generation: 1, uid: expect.any(String) });
    expect(first.body.metadata.managedFields[0]).toMatchObject({
      manager: "test",
      operation: "Apply",
      fieldsType: "FieldsV1",
    });
    await new Promise((r) => setTimeout(r, 30)); // the controller writes status (pods, readyReplicas)
    const settled = (await (await fetch(`${base()}/a`)).json()) as any;
    expect(settled.status.readyReplicas).toBe(1);
    const same = await apply("a", deployment("a"));
    expect(same.status).toBe(200);
    expect(same.body.metadata.resourceVersion).toBe(settled.metadata.resourceVersion);
    const changed = await apply("a", deployment("a", { replicas: 3 }));
    expect(changed.body.metadata.generation).toBe(2);
    expect(changed.body.metadata.uid).toBe(first.body.metadata.uid);
    expect(Number(changed.body.metadata.resourceVersion)).toBeGreaterThan(Number(first.body.metadata.resourceVersion));
  });

  it("requires fieldManager for apply (422) and refuses other patch types it does not speak (415)", async () => {
    const res = await apply("b", deployment("b"), "force=true");
    expect(res.status).toBe(422);
    expect(res.body.message).toContain("fieldManager: Required value");
    const smp = await fetch(`${base()}/a`, {
      method: "PATCH",
      headers: { "Content-Type": "application/strategic-merge-patch+json" },
      body: "{}",
    });
    expect(smp.status).toBe(415);
  });

  it("returns 409 Conflict naming the other manager unless force is set", async () => {
    await apply("c", deployment("c"), "fieldManager=owner");
    const res = await apply("c", deployment("c", { replicas: 7 }), "fieldManager=intruder");
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ kind: "Status", status: "Failure", reason: "Conflict", code: 409 });
    expect(res.body.message).toBe('Apply failed with 1 conflict: conflict with "owner" using apps/v1: .spec.replicas');
    expect(res.body.details.causes).toEqual([
      { reason: "FieldManagerConflict", message: 'conflict with "owner" using apps/v1', field: ".spec.replicas" },
    ]);
    const forced = await apply("c", deployment("c", { replicas: 7 }), "fieldManager=intruder&force=true");
    expect(forced.status).toBe(200);
    expect(forced.body.spec.replicas).toBe(7);
    const owners = forced.body.metadata.managedFields.map((m: any) => [
      m.manager,
      "f:replicas" in (m.fieldsV1["f:spec"] ?? {}),
    ]);
    expect(owners).toContainEqual(["intruder", true]);
    expect(owners).toContainEqual(["owner", false]);
  });

  it("removes fields a manager stops applying, but not fields another manager also owns", async () => {
    await apply("d", deployment("d", {}, { app: "d", extra: "x" }), "fieldManager=m1");
    const res = await apply("d", deployment("d"), "fieldManager=m1");
    expect(res.body.metadata.labels).toEqual({ app: "d" });
  });

  it("validates against the Kubernetes schema (422 Invalid with causes) and refuses unknown fields (400)", async () => {
    const bad = deployment("e");
    (bad.spec.template.spec.containers[0] as any).image = 42;
    const res = await apply("e", bad);
    expect(res.status).toBe(422);
    expect(res.body.reason).toBe("Invalid");
    expect(res.body.details).toMatchObject({ name: "e", group: "apps", kind: "Deployment" });
    expect(res.body.details.causes[0].field).toBe("spec.template.spec.containers[0].image");
    const mismatch = deployment("f");
    mismatch.spec.selector = { matchLabels: { app: "other" } };
    expect((await apply("f", mismatch)).body.message).toContain("`selector` does not match template `labels`");
    const unknown = deployment("g", { _from: [] });
    const u = await apply("g", unknown);
    expect(u.status).toBe(400);
    expect(u.body.message).toContain('unknown field "spec._from"');
    expect(fake.get("Deployment", NS, "e")).toBeUndefined();
  });

  it("lists with equality, set-based and negated label selectors", async () => {
    await apply("s1", deployment("s1", {}, { app: "s1", tier: "a" }));
    await apply("s2", deployment("s2", {}, { app: "s2", tier: "b" }));
    await apply("s3", deployment("s3", {}, { app: "s3" }));
    const names = async (sel: string) => {
      const res = await fetch(`${base()}?labelSelector=${encodeURIComponent(sel)}`);
      const list = (await res.json()) as any;
      expect(list.kind).toBe("DeploymentList");
      return list.items.map((i: any) => i.metadata.name).sort();
    };
    expect(await names("tier=a")).toEqual(["s1"]);
    expect(await names("tier in (a,b)")).toEqual(["s1", "s2"]);
    expect(await names("tier,tier notin (a)")).toEqual(["s2"]);
    expect(await names("app in (s1,s2,s3),!tier")).toEqual(["s3"]);
    expect(await names("app=s2,tier!=a")).toEqual(["s2"]);
  });

  it("streams watch events after a resourceVersion and answers a too-old one with a 410 ERROR event", async () => {
    const list = (await (await fetch(`${base()}?labelSelector=app%3Dw`)).json()) as any;
    const rv = list.metadata.resourceVersion;
    const ctrl = new AbortController();
    const res = await fetch(`${base()}?watch=true&resourceVersion=${rv}&labelSelector=app%3Dw`, {
      signal: ctrl.signal,
    });
    const reader = res.body!.getReader();
    await apply("w", deployment("w"));
    let text = "";
    while (!text.includes("\n")) text += new TextDecoder().decode((await reader.read()).value);
    const ev = JSON.parse(text.split("\n")[0] as string);
    expect(ev.type).toBe("ADDED");
    expect(ev.object.metadata.name).toBe("w");
    ctrl.abort();
    fake.compact();
    const old = await fetch(`${base()}?watch=true&resourceVersion=1`);
    expect(old.status).toBe(200);
    const err = JSON.parse((await old.text()).trim());
    expect(err).toMatchObject({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired" } });
  });

  it("works with client-node's typed clients and informer", async () => {
    const kc = fake.kubeConfig();
    const apps = kc.makeApiClient(AppsV1Api);
    const seen: string[] = [];
    const informer = makeInformer<V1Deployment>(
      kc,
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      () => apps.listNamespacedDeployment({ namespace: NS, labelSelector: "app=inf" }),
      "app=inf",
    );
    informer.on("add", (d) => seen.push(`add:${d.metadata?.name}`));
    informer.on("delete", (d) => seen.push(`delete:${d.metadata?.name}`));
    await informer.start();
    await apply("inf", deployment("inf"));
    await apps.deleteNamespacedDeployment({ name: "inf", namespace: NS });
    for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await informer.stop();
    expect(seen).toEqual(["add:inf", "delete:inf"]);
    const core = kc.makeApiClient(CoreV1Api);
    await expect(core.readNamespacedSecret({ name: "none", namespace: NS })).rejects.toMatchObject({ code: 404 });
  });

  it("collects dependents: foreground waits for them, background collects after, orphan keeps them", async () => {
    const owner = (await apply("own", deployment("own"))).body;
    const secret = (name: string) => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name,
        ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "own", uid: owner.metadata.uid }],
      },
      data: { k: Buffer.from("v").toString("base64") },
    });
    const put = (name: string) =>
      fetch(`${fake.url}/api/v1/namespaces/${NS}/secrets/${name}?fieldManager=t`, {
        method: "PATCH",
        headers: { "Content-Type": "application/apply-patch+yaml" },
        body: JSON.stringify(secret(name)),
      });
    expect((await put("dep1")).status).toBe(201);
    await new Promise((r) => setTimeout(r, 30));
    expect(fake.list("Pod", NS).some((p: any) => p.metadata.ownerReferences[0].name === "own")).toBe(true);
    const del = await fetch(`${base()}/own?propagationPolicy=Foreground`, { method: "DELETE" });
    const marked = (await del.json()) as any;
    expect(marked.metadata.deletionTimestamp).toBeDefined();
    expect(marked.metadata.finalizers).toContain("foregroundDeletion");
    for (let i = 0; i < 100 && fake.get("Deployment", NS, "own"); i++) await new Promise((r) => setTimeout(r, 10));
    expect(fake.get("Deployment", NS, "own")).toBeUndefined();
    expect(fake.get("Secret", NS, "dep1")).toBeUndefined();
    expect(fake.list("Pod", NS).some((p: any) => p.metadata.ownerReferences[0].name === "own")).toBe(false);

    const owner2 = (await apply("own", deployment("own"))).body;
    owner.metadata.uid = owner2.metadata.uid;
    await put("dep2");
    await fetch(`${base()}/own?propagationPolicy=Orphan`, { method: "DELETE" });
    await new Promise((r) => setTimeout(r, 30));
    const orphan = fake.get("Secret", NS, "dep2") as any;
    expect(orphan).toBeDefined();
    expect(orphan.metadata.ownerReferences).toBeUndefined();
  });

  it("serves pod logs with tailLines, timestamps and follow", async () => {
    await apply("lg", deployment("lg"));
    await new Promise((r) => setTimeout(r, 30));
    const pod = fake.list("Pod", NS).find((p: any) => p.metadata.ownerReferences[0].name === "lg") as any;
    const url = `${fake.url}/api/v1/namespaces/${NS}/pods/${pod.metadata.name}/log`;
    expect(await (await fetch(`${url}?tailLines=1`)).text()).toBe("listening\n");
    expect(await (await fetch(`${url}?timestamps=true&tailLines=1`)).text()).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z listening\n$/,
    );
    expect((await fetch(`${url}?container=wrong`)).status).toBe(400);
    expect((await fetch(`${fake.url}/api/v1/namespaces/${NS}/pods/none/log`)).status).toBe(404);
  });

  it("requires the bearer token when configured (401 Status)", async () => {
    const locked = await FakeApiServer.start({ token: "t0ken" });
    try {
      const res = await fetch(`${locked.url}/api/v1/namespaces/default/secrets/x`);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });
      const core = locked.kubeConfig().makeApiClient(CoreV1Api);
      await expect(core.readNamespacedSecret({ name: "x", namespace: "default" })).rejects.toMatchObject({ code: 404 });
    } finally {
      await locked.close();
    }
  });
});
