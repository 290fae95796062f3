import { FleetError, type RuntimeEvent } from "@mcpfleet/core";
import { describe, expect, it } from "vitest";
import { kubernetesRuntime } from "../src/index.js";
import { byKind } from "./fake-apiserver/resources.js";
import { NS, until, useFakeRuntime } from "./fake-runtime.js";
import { CANARY, dockerRequest } from "./helpers.js";

const ctx = useFakeRuntime();
const running = (id: string) => until(async () => (await ctx.rt.inspect(id))?.phase === "running", `${id} running`);

describe("observed state", () => {
  it("reports CrashLoopBackOff as failed with the reason (retryable)", async () => {
    await ctx.rt.deploy(dockerRequest("crash", { image: "example/crashloop:1" }));
    const o = await until(async () => {
      const x = await ctx.rt.inspect("crash");
      return x?.phase === "failed" ? x : undefined;
    }, "failed");
    expect(o.reason).toContain("CrashLoopBackOff");
    expect(o.permanent).toBe(false);
    expect(o.exitCode).toBe(1);
  });

  it("reports ImagePullBackOff as failed and permanent", async () => {
    await ctx.rt.deploy(dockerRequest("pull", { image: "example/imagepull-missing:1" }));
    const o = await until(async () => {
      const x = await ctx.rt.inspect("pull");
      return x?.phase === "failed" ? x : undefined;
    }, "failed");
    expect(o.reason).toContain("ImagePullBackOff");
    expect(o.permanent).toBe(true);
  });

  it("sees a running instance start crash-looping (controller test hook)", async () => {
    await ctx.rt.deploy(dockerRequest("later"));
    await running("later");
    ctx.fake.setPodMode(NS, "mcp-later", "crashloop");
    const o = await until(async () => {
      const x = await ctx.rt.inspect("later");
      return x?.phase === "failed" ? x : undefined;
    }, "failed");
    expect(o.reason).toMatch(/^CrashLoopBackOff/);
    ctx.fake.setPodMode(NS, "mcp-later", undefined);
  });

  it("list returns only deployments managed by mcpfleet", async () => {
    ctx.fake.store.put(
      byKind("Deployment")!,
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: {
          name: "not-ours",
          namespace: NS,
          labels: { app: "x" },
          annotations: { "mcpfleet.io/instance-id": "intruder" },
        },
        spec: {
          selector: { matchLabels: { app: "x" } },
          template: { metadata: { labels: { app: "x" } }, spec: { containers: [{ name: "x", image: "x" }] } },
        },
      },
      [],
    );
    await ctx.rt.deploy(dockerRequest("listed"));
    const ids = (await ctx.rt.list()).map((o) => o.instanceId);
    expect(ids).toContain("listed");
    expect(ids).not.toContain("intruder");
    expect(await ctx.rt.inspect("intruder")).toBeUndefined();
  });
});

describe("logs, watch and remove", () => {
  it("follows pod logs until aborted", async () => {
    await ctx.rt.deploy(dockerRequest("logs"));
    await running("logs");
    const history = [];
    for await (const l of ctx.rt.logs("logs", { tail: 1 })) history.push(l.line);
    expect(history).toEqual(["listening"]);
    const pod = ctx.fake.list("Pod", NS).find((p: any) => p.metadata.labels["mcpfleet.instance-id"] === "logs") as any;
    const ctrl = new AbortController();
    const got: string[] = [];
    const reading = (async () => {
      for await (const l of ctx.rt.logs("logs", { follow: true, tail: 0, signal: ctrl.signal })) {
        got.push(l.line);
        if (got.includes("second")) ctrl.abort();
      }
    })();
    // Lines written before the follow request is open are history, which `tail: 0` skips.
    await until(async () => ctx.fake.controllers.logListeners.size > 0, "follow connection");
    ctx.fake.appendLog(NS, pod.metadata.name, "first");
    ctx.fake.appendLog(NS, pod.metadata.name, "second");
    await reading;
    expect(got).toEqual(["first", "second"]);
    await expect(
      (async () => {
        for await (const _ of ctx.rt.logs("nope")) void _;
      })(),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("watch reports add, change and removal, and survives a 410 Gone", async () => {
    const ctrl = new AbortController();
    const events: RuntimeEvent[] = [];
    const watching = (async () => {
      for await (const ev of ctx.rt.watch({ signal: ctrl.signal })) if (ev.instanceId === "watched") events.push(ev);
    })();
    await new Promise((r) => setTimeout(r, 50));
    await ctx.rt.deploy(dockerRequest("watched"));
    await until(async () => events.some((e) => e.kind === "started"), "started");
    // History compacted and connections dropped: the informer's resume gets 410 and relists.
    ctx.fake.compact();
    ctx.fake.dropConnections();
    await new Promise((r) => setTimeout(r, 50));
    ctx.fake.setPodMode(NS, "mcp-watched", "crashloop");
    await until(async () => events.some((e) => e.kind === "changed"), "change after 410");
    await ctx.rt.remove("watched");
    await until(async () => events.some((e) => e.kind === "removed"), "removed");
    ctrl.abort();
    await watching;
  });

  it("remove deletes in the foreground and leaves nothing behind", async () => {
    await ctx.rt.deploy(dockerRequest("gone", { spec: { replicas: 2 } }));
    await running("gone");
    const before = ctx.fake.requests.length;
    await ctx.rt.remove("gone");
    const deletes = ctx.fake.requests.slice(before).filter((r) => r.method === "DELETE");
    expect(deletes.find((r) => r.path.includes("/deployments/"))?.query.propagationPolicy).toBe("Foreground");
    const leftovers = ctx.fake.store
      .all()
      .filter(
        ({ object }: any) =>
          object.metadata.labels?.["mcpfleet.instance-id"] === "gone" || object.metadata.name === "mcp-gone",
      );
    expect(leftovers).toEqual([]);
    expect(await ctx.rt.inspect("gone")).toBeUndefined();
    await expect(ctx.rt.remove("gone")).resolves.toBeUndefined();
  });
});

describe("refusals", () => {
  it("refuses stdio specs and other types with UNSUPPORTED", async () => {
    const stdio = dockerRequest("stdio", { spec: { transport: "stdio" } });
    await expect(ctx.rt.deploy(stdio)).rejects.toMatchObject({ code: "UNSUPPORTED", path: "json_spec.transport" });
    const url = {
      ...dockerRequest("url"),
      spec: { type: "url", endpoint: "http://x", transport: "streamable-http", headers: {} },
    } as never;
    await expect(ctx.rt.deploy(url)).rejects.toMatchObject({ code: "UNSUPPORTED", path: "json_spec.type" });
    expect(ctx.fake.get("Deployment", NS, "mcp-stdio")).toBeUndefined();
  });

  it("refuses host bind mounts and a missing port with a path", async () => {
    const bind = dockerRequest("bind", {
      spec: { volumes: [{ kind: "bind", source: "/etc", target: "/x", readOnly: true }] },
    });
    await expect(ctx.rt.deploy(bind)).rejects.toMatchObject({ code: "HOST_PATH_REFUSED", path: "json_spec.volumes.0" });
    const noPort = dockerRequest("noport", { spec: { port: undefined } });
    await expect(ctx.rt.deploy(noPort)).rejects.toMatchObject({ code: "SPEC_INVALID", path: "json_spec.port" });
  });

  it("maps an API server refusal (422) to DEPLOY_FAILED, not retryable, without secret values", async () => {
    const bad = kubernetesRuntime({ kubeConfig: ctx.fake.kubeConfig(), namespace: NS, labels: { "bad key!": "v" } });
    const err = await bad.deploy(dockerRequest("refused")).catch((e) => e);
    expect(FleetError.isInstance(err)).toBe(true);
    expect(err.code).toBe("DEPLOY_FAILED");
    expect(err.isRetryable).toBe(false);
    expect(err.message).toContain("is invalid");
    expect(JSON.stringify(err.toJSON())).not.toContain(CANARY);
    await bad.close();
  });

  it("aborts an in-flight deploy with ABORTED", async () => {
    const ctrl = new AbortController();
    const pending = ctx.rt.deploy(dockerRequest("aborted"), { signal: ctrl.signal });
    ctrl.abort();
    await expect(pending).rejects.toMatchObject({ code: "ABORTED" });
  });

  it("maps a missing namespace to NOT_FOUND and closed runtimes to CLOSED", async () => {
    const other = kubernetesRuntime({ kubeConfig: ctx.fake.kubeConfig(), namespace: "missing" });
    await expect(other.deploy(dockerRequest("nsless"))).rejects.toMatchObject({ code: "NOT_FOUND" });
    await other.close();
    await expect(other.inspect("x")).rejects.toMatchObject({ code: "CLOSED" });
  });
});
