import { createServer } from "node:net";
import { FleetError, recordingLogger } from "@mcpfleet/core";
import { describe, expect, it } from "vitest";
import { compatCreateOptions, libpodCreateBody } from "./create-body.js";
import { versionAtLeast } from "./engine.js";
import { LogDemuxer } from "./logs.js";
import { containerName, secretName } from "./naming.js";
import { parseMemory, resolveOptions } from "./options.js";
import { buildPlan, checkHostPaths } from "./plan.js";
import { podmanRuntime } from "./podman-runtime.js";
import { detectSocket, socketCandidates } from "./socket.js";
import { toRuntimeEvent } from "./watch.js";

const frame = (type: 1 | 2, text: string) => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

const spec = (over: Record<string, unknown> = {}) =>
  ({
    type: "docker",
    image: "img:1",
    port: 3001,
    transport: "streamable-http",
    environment: {},
    volumes: [],
    restartPolicy: "no",
    labels: {},
    replicas: 1,
    ...over,
  }) as never;

const request = (secrets: Record<string, string> = {}) => ({
  instance: { id: "inst-1", name: "inst-1", generation: 3, specHash: "abc123" },
  spec: spec(),
  env: { PLAIN: "p" },
  secrets: { env: secrets, headers: {} },
});

describe("options", () => {
  it("applies defaults and parses memory quantities", () => {
    const o = resolveOptions({});
    expect(o).toMatchObject({
      owner: "mcpfleet",
      pullPolicy: "if-not-present",
      network: "mcpfleet",
      stopTimeoutSeconds: 10,
    });
    expect(o.defaultMemoryBytes).toBe(512 * 1024 * 1024);
    expect(parseMemory("1g")).toBe(1024 ** 3);
    expect(parseMemory("256Mi")).toBe(256 * 1024 ** 2);
    expect(parseMemory(1000)).toBe(1000);
  });

  it("refuses bad options with OPTIONS_INVALID naming the adapter and the option", () => {
    const err = (() => {
      try {
        podmanRuntime({ pullPolicy: "sometimes" as never });
      } catch (e) {
        return e;
      }
    })();
    expect(FleetError.isInstance(err)).toBe(true);
    expect(err).toMatchObject({ code: "OPTIONS_INVALID", path: "pullPolicy" });
    expect((err as Error).message).toMatch(/^\[mcpfleet\/backend-podman\] option "pullPolicy"/);
    expect(() => podmanRuntime({ owner: "bad owner!" })).toThrow(/option "owner"/);
    expect(() => podmanRuntime({ unknown: 1 } as never)).toThrow(/OPTIONS_INVALID|option/);
  });
});

describe("publish and advertise hosts", () => {
  it("defaults to 127.0.0.1; an unspecified publish address still advertises loopback; IPv6 gets brackets", () => {
    expect(resolveOptions({})).toMatchObject({ publishHost: "127.0.0.1", endpointHost: "127.0.0.1" });
    expect(resolveOptions({ publishHost: "10.0.0.2" }).endpointHost).toBe("10.0.0.2");
    expect(resolveOptions({ publishHost: "0.0.0.0" }).endpointHost).toBe("127.0.0.1");
    expect(resolveOptions({ publishHost: "0.0.0.0", advertiseHost: "worker-b.internal" }).endpointHost).toBe(
      "worker-b.internal",
    );
    expect(resolveOptions({ publishHost: "fd00::2" }).endpointHost).toBe("[fd00::2]");
  });

  it("refuses a publish host that is not an IP and an advertise host that would change the URL", () => {
    for (const [option, value] of [
      ["publishHost", "worker-b.internal"],
      ["publishHost", "10.0.0.300"],
      ["advertiseHost", "evil.example/x?"],
      ["advertiseHost", "user@host"],
      ["advertiseHost", "host:8080"],
      ["advertiseHost", ""],
    ] as const) {
      let err: unknown;
      try {
        podmanRuntime({ [option]: value });
      } catch (e) {
        err = e;
      }
      expect(err, `${option}=${value}`).toMatchObject({ code: "OPTIONS_INVALID", path: option });
    }
  });

  it("publishes on the publish host and labels it (a changed publish host replaces the container)", () => {
    const options = resolveOptions({ publishHost: "10.0.0.2", advertiseHost: "worker-b.internal" });
    const { plan } = buildPlan({ request: request(), spec: spec(), options, secretMode: "none" });
    expect(plan.labels["mcpfleet.publish-host"]).toBe("10.0.0.2");
    expect(compatCreateOptions(plan).HostConfig?.PortBindings).toEqual({
      "3001/tcp": [{ HostIp: "10.0.0.2", HostPort: "" }],
    });
    expect(libpodCreateBody(plan).portmappings).toEqual([
      { host_ip: "10.0.0.2", container_port: 3001, host_port: 0, protocol: "tcp" },
    ]);
  });
});

describe("socket detection", () => {
  it("lists candidates in order without duplicates", () => {
    const c = socketCandidates("/a.sock", {
      CONTAINER_HOST: "unix:///b.sock",
      DOCKER_HOST: "unix:///a.sock",
      XDG_RUNTIME_DIR: "/run/user/1000",
    });
    expect(c.map((x) => x.source)).toEqual([
      "options.socketPath",
      "CONTAINER_HOST",
      "rootful Podman",
      "rootless Podman",
      "Docker",
    ]);
    expect(c.map((x) => x.address)).toEqual([
      "unix:///a.sock",
      "unix:///b.sock",
      "unix:///run/podman/podman.sock",
      "unix:///run/user/1000/podman/podman.sock",
      "unix:///var/run/docker.sock",
    ]);
  });

  it("fails with RUNTIME_UNAVAILABLE listing every place tried, logging each attempt at debug", async () => {
    // a socket that accepts and never answers, plus paths that do not exist
    const dir = `/tmp/mcpfleet-sock-${process.pid}`;
    const { mkdirSync, rmSync } = await import("node:fs");
    mkdirSync(dir, { recursive: true });
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(`${dir}/silent.sock`, r));
    const logger = recordingLogger();
    try {
      const err = await detectSocket({
        socketPath: `${dir}/silent.sock`,
        env: { CONTAINER_HOST: `unix://${dir}/missing.sock`, DOCKER_HOST: "ssh://somewhere" },
        logger,
        pingTimeoutMs: 200,
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "RUNTIME_UNAVAILABLE", isRetryable: true });
      const message = (err as Error).message;
      for (const place of [
        `${dir}/silent.sock`,
        `${dir}/missing.sock`,
        "ssh://somewhere",
        "/run/podman/podman.sock",
        "/var/run/docker.sock",
      ]) {
        expect(message).toContain(place);
      }
      expect(message).toContain("podman system service");
      expect(logger.lines.filter((l) => l.level === "debug").length).toBeGreaterThanOrEqual(5);
    } finally {
      silent.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("log demultiplexing", () => {
  it("splits frames into lines per stream, across chunk boundaries, with timestamps", () => {
    const d = new LogDemuxer(true);
    const bytes = Buffer.concat([
      frame(1, "2026-01-02T03:04:05.123456789Z hello\n2026-01-02T03:04:06Z wor"),
      frame(2, "2026-01-02T03:04:07Z oops\n"),
      frame(1, "ld\n"),
    ]);
    const out = [...d.push(bytes.subarray(0, 13)), ...d.push(bytes.subarray(13)), ...d.flush()];
    expect(out.map((l) => [l.stream, l.line])).toEqual([
      ["stdout", "hello"],
      ["stderr", "oops"],
      ["stdout", "world"],
    ]);
    expect(out[0]?.time).toBe("2026-01-02T03:04:05.123Z");
  });
});

describe("engine events", () => {
  it("maps only this owner's container events", () => {
    const ev = (action: string, owner: string) => ({
      Type: "container",
      Action: action,
      timeNano: 1_700_000_000_000_000_000,
      Actor: { ID: "x", Attributes: { "mcpfleet.managed-by": owner, "mcpfleet.instance-id": "i1" } },
    });
    expect(toRuntimeEvent(ev("start", "me"), "me")).toEqual({
      instanceId: "i1",
      kind: "started",
      at: new Date(1_700_000_000_000).toISOString(),
    });
    expect(toRuntimeEvent(ev("die", "me"), "me")?.kind).toBe("exited");
    expect(toRuntimeEvent(ev("remove", "me"), "me")?.kind).toBe("removed");
    expect(toRuntimeEvent(ev("start", "other"), "me")).toBeUndefined();
    expect(toRuntimeEvent(ev("exec_create", "me"), "me")).toBeUndefined();
    expect(toRuntimeEvent({ ...ev("start", "me"), Type: "image" }, "me")).toBeUndefined();
  });
});

describe("naming, plans and create bodies", () => {
  it("names containers deterministically and distinctly", () => {
    expect(containerName("fleet", "abc")).toBe("fleet-abc");
    expect(containerName("fleet", "a/b")).not.toBe(containerName("fleet", "a_b"));
    expect(containerName("fleet", "x".repeat(300)).length).toBeLessThan(130);
    expect(secretName("fleet-abc", "hash", "API_KEY")).toMatch(/^mcpfleet-[0-9a-f]{16}\.[0-9a-f]{8}\.API_KEY$/);
    const long = secretName(
      containerName("a-rather-long-owner-name", "0f8e2b7c-1d2e-4f5a-9b8c-7d6e5f4a3b2c"),
      "h",
      "X".repeat(80),
    );
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*[a-zA-Z0-9]$/);
  });

  it("refuses bind mounts outside the allowed roots (prefix on path boundaries)", () => {
    const vol = (source: string) => spec({ volumes: [{ source, kind: "bind", target: "/data", readOnly: true }] });
    expect(() => checkHostPaths(vol("/host/path"), [])).toThrow(/"\/host\/path"/);
    expect(() => checkHostPaths(vol("/srv/data-other"), ["/srv/data"])).toThrow(FleetError);
    expect(() => checkHostPaths(vol("/srv/data/../etc"), ["/srv/data"])).toThrow(/HOST_PATH|not allowed/);
    expect(() => checkHostPaths(vol("/srv/data/sub"), ["/srv/data"])).not.toThrow();
    expect(() =>
      checkHostPaths(spec({ volumes: [{ source: "named", kind: "volume", target: "/v", readOnly: false }] }), []),
    ).not.toThrow();
  });

  it("keeps secret values out of the container body in podman-mount and podman-env modes", () => {
    const options = resolveOptions({ owner: "o", user: "1000:1001" });
    const mount = buildPlan({
      request: request({ API_KEY: "CANARY-XYZ" }),
      spec: spec(),
      options,
      secretMode: "podman-mount",
    });
    expect(mount.secrets).toEqual([
      { name: expect.stringMatching(/^mcpfleet-[0-9a-f]{16}\.[0-9a-f]{8}\.API_KEY$/), value: "CANARY-XYZ" },
    ]);
    expect(mount.plan.env).toEqual({ PLAIN: "p", MCPFLEET_REPLICA: "0", API_KEY_FILE: "/run/secrets/API_KEY" });
    expect(mount.plan.secretMounts[0]).toMatchObject({
      target: "/run/secrets/API_KEY",
      uid: 1000,
      gid: 1001,
      mode: 0o400,
    });
    expect(JSON.stringify(libpodCreateBody(mount.plan))).not.toContain("CANARY-XYZ");
    const env = buildPlan({
      request: request({ API_KEY: "CANARY-XYZ" }),
      spec: spec(),
      options,
      secretMode: "podman-env",
    });
    expect(env.plan.secretEnv).toEqual({ API_KEY: expect.stringMatching(/\.API_KEY$/) });
    expect(JSON.stringify(libpodCreateBody(env.plan))).not.toContain("CANARY-XYZ");
    const plain = buildPlan({
      request: request({ API_KEY: "CANARY-XYZ" }),
      spec: spec(),
      options,
      secretMode: "plain-env",
    });
    expect(compatCreateOptions(plain.plan).Env).toContain("API_KEY=CANARY-XYZ");
  });

  it("builds labels, limits, security defaults and no restart policy", () => {
    const options = resolveOptions({ owner: "o", defaultMemory: "64m", defaultCpus: 0.25 });
    const { plan } = buildPlan({
      request: request(),
      spec: spec({ labels: { "mcpfleet.managed-by": "spoof", team: "a" }, command: ["node", "s.js"], args: ["--x"] }),
      options,
      secretMode: "none",
    });
    expect(plan.labels).toMatchObject({
      "mcpfleet.managed-by": "o",
      "mcpfleet.instance-id": "inst-1",
      "mcpfleet.spec-hash": "abc123",
      team: "a",
    });
    expect(plan.cmd).toEqual(["node", "s.js", "--x"]);
    const compat = compatCreateOptions(plan);
    expect(compat.HostConfig).toMatchObject({
      Memory: 64 * 1024 * 1024,
      NanoCpus: 250_000_000,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      RestartPolicy: { Name: "no" },
      PortBindings: { "3001/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] },
    });
    const libpod = libpodCreateBody(plan);
    expect(libpod).toMatchObject({
      cap_drop: ["ALL"],
      no_new_privileges: true,
      resource_limits: { cpu: { quota: 25_000, period: 100_000 } },
    });
    expect(libpod).not.toHaveProperty("restart_policy");
    expect(() =>
      buildPlan({ request: request(), spec: spec({ port: undefined }), options, secretMode: "none" }),
    ).toThrow(/json_spec.port/);
  });

  it("compares versions", () => {
    expect(versionAtLeast("4.3.1", "5.3.0")).toBe(false);
    expect(versionAtLeast("5.3.0", "5.3.0")).toBe(true);
    expect(versionAtLeast("5.10.2-dev", "5.3.0")).toBe(true);
  });
});
