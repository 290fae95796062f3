import { mkdtempSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@mcpfleet/core";
import { checkService, describeWith } from "@mcpfleet/core/testing";
import { assembleFleet } from "@mcpfleet/example-host-kit/assemble";
import { ConfigError, loadConfig } from "@mcpfleet/example-host-kit/config";
import { describe, expect, it } from "vitest";
import { cleanupOwner, podmanService, uniqueOwner, waitForMcp } from "../../../packages/backend-podman/test/helpers.js";

/**
 * PODMAN_PUBLISH_HOST / PODMAN_ADVERTISE_HOST: refused by name when malformed; when set, the
 * instances a host (or worker) deploys on real Podman are published on that address and their
 * endpoints carry the advertised one, so a gateway on another machine can reach them.
 */

describe("PODMAN_PUBLISH_HOST / PODMAN_ADVERTISE_HOST", () => {
  it("refuses a publish host that is not an IP and an advertise host that would change the URL, by name", () => {
    for (const [variable, value, message] of [
      ["PODMAN_PUBLISH_HOST", "worker-b.internal", "must be an IP address of this host (0.0.0.0 for every interface)"],
      ["PODMAN_PUBLISH_HOST", "10.0.0.256", "must be an IP address of this host (0.0.0.0 for every interface)"],
      ["PODMAN_ADVERTISE_HOST", "evil.example/path?", "must be a host name or an IP address"],
      ["PODMAN_ADVERTISE_HOST", "user@worker-b", "must be a host name or an IP address"],
      ["PODMAN_ADVERTISE_HOST", "worker-b:8080", "must be a host name or an IP address"],
    ] as const) {
      let err: unknown;
      try {
        loadConfig({ [variable]: value });
      } catch (e) {
        err = e;
      }
      expect(err, value).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues).toEqual([{ variable, message }]);
    }
    const ok = loadConfig({ PODMAN_PUBLISH_HOST: "0.0.0.0", PODMAN_ADVERTISE_HOST: "worker-b.internal" });
    expect(ok).toMatchObject({ PODMAN_PUBLISH_HOST: "0.0.0.0", PODMAN_ADVERTISE_HOST: "worker-b.internal" });
    expect(loadConfig({ PODMAN_ADVERTISE_HOST: "fd00::2" }).PODMAN_ADVERTISE_HOST).toBe("fd00::2");
  });
});

const { status, env } = await podmanService();
const hostIp = Object.values(networkInterfaces())
  .flat()
  .find((a) => a?.family === "IPv4" && !a.internal)?.address;
const nic = await checkService("non-loopback IPv4 address", async () => hostIp !== undefined || "no interface has one");

describeWith([status, nic], "a host on real Podman with PODMAN_PUBLISH_HOST / PODMAN_ADVERTISE_HOST", () => {
  it("deploys an instance whose endpoint carries the advertised address and answers MCP there", async () => {
    const ip = hostIp as string;
    const owner = uniqueOwner("t-host-adv");
    const dir = mkdtempSync(join(tmpdir(), "mcpfleet-podman-adv-"));
    const config = loadConfig(
      {
        FLEET_RUNTIME: "podman",
        CONTAINER_HOST: `unix://${env?.socket}`,
        PODMAN_OWNER: owner,
        PODMAN_NETWORK: `${owner}-net`,
        PODMAN_PUBLISH_HOST: ip,
        PODMAN_ADVERTISE_HOST: ip,
        FLEET_STORE: "memory",
        FLEET_SECRETS: "memory",
        ENDPOINT_ALLOW: `${ip}/32`,
      },
      dir,
    );
    const a = await assembleFleet(config, silentLogger(), "all");
    try {
      await a.fleet.start();
      const inst = await a.fleet.instances.create({
        name: "advertised",
        json_spec: { type: "docker", image: env?.imageHttp, port: 3001 },
      });
      const running = await a.fleet.instances.waitFor(inst.id, "running", { timeoutMs: 60_000 });
      expect(running.endpoint).toMatch(new RegExp(`^http://${ip.replaceAll(".", "\\.")}:\\d+/mcp$`));
      expect(await waitForMcp(running.endpoint as string)).toMatch(/everything/i);
      expect((await a.fleet.connection(inst.id)).endpoint).toBe(running.endpoint);
      await a.fleet.instances.delete(inst.id);
    } finally {
      await a.close();
      if (env) await cleanupOwner(env.socket, owner, [`${owner}-net`]);
    }
  });
});
