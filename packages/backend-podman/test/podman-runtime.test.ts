import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FleetError, type RuntimeEvent, recordingLogger } from "@mcpfleet/core";
import { describeWith } from "@mcpfleet/core/testing";
import Dockerode from "dockerode";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type PodmanRuntime, podmanRuntime, secretPrefix } from "../src/index.js";
import { cleanupOwner, containerSpec, deployRequest, podmanService, uniqueOwner, waitForMcp } from "./helpers.js";

const { status, env } = await podmanService();

describeWith([status], "podmanRuntime against real Podman", () => {
  const owner = uniqueOwner("t-rt");
  const network = `${owner}-net`;
  const lines = recordingLogger();
  let runtime: PodmanRuntime;
  let docker: Dockerode;
  const E = () => {
    if (!env) throw new Error("podman env missing");
    return env;
  };

  beforeAll(() => {
    docker = new Dockerode({ socketPath: E().socket });
    runtime = podmanRuntime({
      owner,
      network,
      env: { CONTAINER_HOST: `unix://${E().socket}` },
      stopTimeoutSeconds: 2,
      defaultMemory: "256m",
      defaultCpus: 0.5,
      logger: lines,
    });
  });
  afterAll(async () => {
    await runtime?.close();
    if (env) await cleanupOwner(env.socket, owner, [network]);
  });

  it("deploys a server that answers MCP on 127.0.0.1, with labels, limits and security defaults", async () => {
    const req = deployRequest("http-1", containerSpec(E().imageHttp, { labels: { "custom.label": "value" } }), {
      FOO: "bar",
    });
    const observed = await runtime.deploy(req);
    expect(observed).toMatchObject({
      instanceId: "http-1",
      specHash: req.instance.specHash,
      phase: "running",
      transport: "streamable-http",
    });
    expect(observed.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(await waitForMcp(observed.endpoint as string)).toMatch(/everything/i);

    const info = await docker.getContainer(runtime.containerName("http-1")).inspect();
    expect(info.Config.Labels).toMatchObject({
      "mcpfleet.instance-id": "http-1",
      "mcpfleet.spec-hash": req.instance.specHash,
      "mcpfleet.managed-by": owner,
      "custom.label": "value",
    });
    expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges");
    expect(info.HostConfig.CapDrop).toEqual(
      expect.arrayContaining(["CAP_NET_RAW", "CAP_SYS_CHROOT"].map((c) => c.replace("CAP_", ""))),
    );
    expect(info.HostConfig.CapAdd ?? []).toEqual([]);
    expect(info.HostConfig.RestartPolicy?.Name ?? "").toMatch(/^(no)?$/);
    expect(info.Config.User).toBe("65534:65534");
    expect(info.Config.Env).toContain("FOO=bar");
    const bindings = Object.values(info.NetworkSettings.Ports).flat();
    expect(bindings.length).toBeGreaterThan(0);
    for (const b of bindings) expect(b?.HostIp).toBe("127.0.0.1");
    expect(Object.keys(info.NetworkSettings.Networks)).toContain(network);

    expect(await runtime.inspect("http-1")).toMatchObject({ phase: "running", endpoint: observed.endpoint });
  });

  it("applies the spec's resources over the defaults", async () => {
    const req = deployRequest(
      "limits",
      containerSpec(E().imageHttp, { resources: { memoryBytes: 128 * 1024 * 1024, nanoCpus: 250_000_000 } }),
    );
    await runtime.deploy(req);
    const info = await docker.getContainer(runtime.containerName("limits")).inspect();
    expect(info.HostConfig.Memory).toBe(128 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(250_000_000);
    await runtime.remove("limits");
  });

  it("is a no-op for the same spec hash and replaces the container for a new one", async () => {
    const req = deployRequest("replace", containerSpec(E().imageHttp));
    await runtime.deploy(req);
    const first = await docker.getContainer(runtime.containerName("replace")).inspect();
    await runtime.deploy(req);
    const same = await docker.getContainer(runtime.containerName("replace")).inspect();
    expect(same.Id).toBe(first.Id);

    const changed = deployRequest("replace", containerSpec(E().imageHttp), { MODE: "two" }, {}, 2);
    expect(changed.instance.specHash).not.toBe(req.instance.specHash);
    const observed = await runtime.deploy(changed);
    const second = await docker.getContainer(runtime.containerName("replace")).inspect();
    expect(second.Id).not.toBe(first.Id);
    expect(second.Config.Labels["mcpfleet.spec-hash"]).toBe(changed.instance.specHash);
    expect(observed).toMatchObject({ specHash: changed.instance.specHash, generation: 2 });
    await runtime.remove("replace");
  });

  it("reports a crashing container as exited and the watch stream sees it without a resync", async () => {
    const ac = new AbortController();
    const seen: RuntimeEvent[] = [];
    const watching = (async () => {
      for await (const ev of runtime.watch?.({ signal: ac.signal }) ?? []) {
        seen.push(ev);
        if (ev.instanceId === "crash" && ev.kind === "exited") break;
      }
    })();
    await new Promise((r) => setTimeout(r, 300)); // let the events request reach the engine
    await runtime.deploy(deployRequest("crash", containerSpec(E().imageExit)));
    await watching;
    ac.abort();
    expect(seen.filter((e) => e.instanceId === "crash").map((e) => e.kind)).toEqual(
      expect.arrayContaining(["started", "exited"]),
    );
    const observed = await runtime.inspect("crash");
    expect(observed).toMatchObject({ phase: "exited", exitCode: 3 });
    expect(observed?.reason).toMatch(/code 3/);
    const logs: string[] = [];
    for await (const l of runtime.logs("crash")) logs.push(`${l.stream}:${l.line}`);
    expect(logs).toContain("stderr:exiting at once");
    // deploying the same hash again replaces an exited container (the reconciler's restart)
    const again = await runtime.deploy(deployRequest("crash", containerSpec(E().imageExit)));
    expect(["starting", "running", "exited"]).toContain(again.phase);
    await runtime.remove("crash");
  });

  it("passes secret values without them showing in inspect, logs or our log lines (canary)", async () => {
    const canary = `canary-${createHash("sha256").update(String(Math.random())).digest("hex").slice(0, 24)}`;
    const expected = createHash("sha256").update(canary).digest("hex");
    const script = [
      "const fs=require('fs');",
      "const v=process.env.CANARY_FILE?fs.readFileSync(process.env.CANARY_FILE,'utf8'):(process.env.CANARY||'');",
      "console.log('hash='+require('crypto').createHash('sha256').update(v).digest('hex'));",
      "setInterval(()=>{},1e6);",
    ].join("");
    const req = deployRequest(
      "secret",
      containerSpec(E().imageHttp, { command: ["/usr/bin/node", "-e", script] }),
      { PLAIN: "x" },
      { CANARY: canary },
    );
    await runtime.deploy(req);
    const conn = await runtime.connection();
    expect(conn.secretMode).toBe("podman-mount"); // Podman 4.3: env-type secrets show in inspect (podman#23788)

    let found: string | undefined;
    for (let i = 0; i < 100 && !found; i++) {
      for await (const l of runtime.logs("secret")) if (l.line.startsWith("hash=")) found = l.line;
      if (!found) await new Promise((r) => setTimeout(r, 100));
    }
    expect(found).toBe(`hash=${expected}`);

    const name = runtime.containerName("secret");
    const compat = JSON.stringify(await docker.getContainer(name).inspect());
    const libpod = await (await fetchOverSocket(E().socket, `/v4.0.0/libpod/containers/${name}/json`)).text();
    expect(compat).toContain("CANARY_FILE=/run/secrets/CANARY");
    expect(compat).not.toContain(canary);
    expect(libpod).not.toContain(canary);
    const raw = await docker.getContainer(name).logs({ stdout: true, stderr: true, follow: false });
    expect(String(raw)).not.toContain(canary);
    expect(JSON.stringify(lines.lines)).not.toContain(canary);
    const secretsBefore = ((await docker.listSecrets()) as { Spec?: { Name?: string } }[]).filter((s) =>
      s.Spec?.Name?.startsWith(secretPrefix(name)),
    );
    expect(secretsBefore).toHaveLength(1);

    await runtime.remove("secret");
    const secretsAfter = ((await docker.listSecrets()) as { Spec?: { Name?: string } }[]).filter((s) =>
      s.Spec?.Name?.startsWith(secretPrefix(name)),
    );
    expect(secretsAfter).toHaveLength(0);
  });

  it("refuses host bind mounts outside allowedHostPaths, naming the path", async () => {
    const spec = containerSpec(E().imageHttp, {
      volumes: [{ source: "/host/path", kind: "bind", target: "/container/path", readOnly: false }],
    });
    const err = await runtime.deploy(deployRequest("bind", spec)).catch((e: unknown) => e);
    expect(FleetError.isInstance(err)).toBe(true);
    expect(err).toMatchObject({ code: "HOST_PATH_REFUSED", path: "json_spec.volumes[0]", isRetryable: false });
    expect((err as Error).message).toContain("/host/path");
    expect(await runtime.inspect("bind")).toBeUndefined();
  });

  it("mounts an allowed host path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcpfleet-bind-"));
    writeFileSync(join(dir, "hello.txt"), "hello from the host");
    chmodSync(dir, 0o755); // the container runs as 65534
    chmodSync(join(dir, "hello.txt"), 0o644);
    const allowed = podmanRuntime({
      owner,
      network,
      env: { CONTAINER_HOST: `unix://${E().socket}` },
      allowedHostPaths: [dir],
      stopTimeoutSeconds: 1,
    });
    const spec = containerSpec(E().imageHttp, {
      command: [
        "/usr/bin/node",
        "-e",
        "console.log(require('fs').readFileSync('/data/hello.txt','utf8'));setInterval(()=>{},1e6)",
      ],
      volumes: [{ source: dir, kind: "bind", target: "/data", readOnly: true }],
    });
    await allowed.deploy(deployRequest("bind-ok", spec));
    let text = "";
    for (let i = 0; i < 100 && !text.includes("hello"); i++) {
      for await (const l of allowed.logs("bind-ok")) text += l.line;
      if (!text.includes("hello")) await new Promise((r) => setTimeout(r, 100));
    }
    expect(text).toContain("hello from the host");
    await allowed.remove("bind-ok");
    await allowed.close();
  });

  it("reports a missing image as failed and permanent, naming the image", async () => {
    const image = "localhost/mcpfleet-test/does-not-exist:404";
    const req = deployRequest("missing", containerSpec(image));
    const observed = await runtime.deploy(req);
    expect(observed).toMatchObject({ phase: "failed", permanent: true, specHash: req.instance.specHash });
    expect(observed.reason).toContain(image);
    expect(await runtime.inspect("missing")).toMatchObject({ phase: "failed", permanent: true });
    await runtime.remove("missing");
    expect(await runtime.inspect("missing")).toBeUndefined();
    const never = podmanRuntime({
      owner,
      network,
      env: { CONTAINER_HOST: `unix://${E().socket}` },
      pullPolicy: "never",
    });
    const o2 = await never.deploy(req);
    expect(o2).toMatchObject({ phase: "failed", permanent: true });
    expect(o2.reason).toMatch(/pullPolicy is "never"/);
    await never.close();
  });

  it("never confuses two owners' containers", async () => {
    const otherOwner = uniqueOwner("t-rt-other");
    const other = podmanRuntime({
      owner: otherOwner,
      network,
      env: { CONTAINER_HOST: `unix://${E().socket}` },
      stopTimeoutSeconds: 1,
    });
    try {
      await runtime.deploy(deployRequest("shared-id", containerSpec(E().imageHttp)));
      await other.deploy(deployRequest("shared-id", containerSpec(E().imageHttp), { WHO: "other" }));
      const mine = await runtime.list();
      const theirs = await other.list();
      expect(mine.filter((o) => o.instanceId === "shared-id")).toHaveLength(1);
      expect(theirs.map((o) => o.instanceId)).toEqual(["shared-id"]);
      expect(theirs[0]?.specHash).not.toBe(mine.find((o) => o.instanceId === "shared-id")?.specHash);
      await other.remove("shared-id");
      expect(await other.list()).toEqual([]);
      expect(await runtime.inspect("shared-id")).toMatchObject({ phase: "running" });
      await runtime.remove("shared-id");
    } finally {
      await other.close();
      await cleanupOwner(E().socket, otherOwner);
    }
  });

  it("follows logs until aborted and honours tail", async () => {
    const script = "let i=0;setInterval(()=>console.log('tick '+(i++)),50)";
    await runtime.deploy(
      deployRequest("logs", containerSpec(E().imageHttp, { command: ["/usr/bin/node", "-e", script] })),
    );
    const ac = new AbortController();
    const got: string[] = [];
    for await (const l of runtime.logs("logs", { follow: true, signal: ac.signal })) {
      got.push(l.line);
      expect(l.stream).toBe("stdout");
      expect(Number.isNaN(Date.parse(l.time))).toBe(false);
      if (got.length >= 5) ac.abort();
    }
    expect(got.slice(0, 5)).toEqual(["tick 0", "tick 1", "tick 2", "tick 3", "tick 4"]);
    const tail: string[] = [];
    for await (const l of runtime.logs("logs", { tail: 2 })) tail.push(l.line);
    expect(tail).toHaveLength(2);
    await runtime.remove("logs");
    await expect(async () => {
      for await (const _ of runtime.logs("logs")) void _;
    }).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("removes idempotently and lists only owned containers", async () => {
    await runtime.remove("never-deployed");
    await runtime.deploy(deployRequest("rm", containerSpec(E().imageHttp)));
    expect((await runtime.list()).map((o) => o.instanceId)).toContain("rm");
    await runtime.remove("rm");
    await runtime.remove("rm");
    expect((await runtime.list()).map((o) => o.instanceId)).not.toContain("rm");
    expect(await runtime.inspect("rm")).toBeUndefined();
  });

  it("works through the Docker-compatible create endpoint too (api: compat)", async () => {
    const compat = podmanRuntime({
      owner,
      network,
      env: { CONTAINER_HOST: `unix://${E().socket}` },
      api: "compat",
      stopTimeoutSeconds: 1,
    });
    const observed = await compat.deploy(deployRequest("compat", containerSpec(E().imageHttp)));
    expect(observed.phase).toBe("running");
    expect(await waitForMcp(observed.endpoint as string)).toMatch(/everything/i);
    const info = await docker.getContainer(compat.containerName("compat")).inspect();
    expect(info.HostConfig.Memory).toBe(512 * 1024 * 1024);
    expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges");
    await expect(
      compat.deploy(deployRequest("compat-secret", containerSpec(E().imageHttp), {}, { K: "v" })),
    ).rejects.toMatchObject({
      code: "UNSUPPORTED",
    });
    await compat.remove("compat");
    await compat.close();
  });

  it("detects the socket in order: a dead socketPath falls through to CONTAINER_HOST", async () => {
    const detect = podmanRuntime({
      owner,
      socketPath: "/nonexistent/podman.sock",
      env: { CONTAINER_HOST: `unix://${E().socket}` },
    });
    const conn = await detect.connection();
    expect(conn).toMatchObject({ source: "CONTAINER_HOST", podman: true, api: "libpod" });
    expect(conn.version).toMatch(/^\d+\.\d+/);
    await detect.close();
    await expect(detect.list()).rejects.toMatchObject({ code: "CLOSED" });
  });
});

async function fetchOverSocket(socket: string, path: string): Promise<{ text(): Promise<string> }> {
  const { request } = await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ text: async () => body }));
    });
    req.on("error", reject);
    req.end();
  });
}
