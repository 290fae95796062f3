import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { checkService } from "@mcpfleet/core/testing";
import { REPO_ROOT } from "./helpers.js";

/**
 * Podman for the host's suites: the environment scripts/podman-env.sh exports (its socket, the locally built test
 * images), found from its env file when the socket answers, else by running the script (idempotent, flock-guarded).
 */
export const podmanVars: Record<string, string> = {};
const parseExports = (text: string) => {
  for (const line of text.split("\n")) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] && m[2] !== undefined) podmanVars[m[1]] = m[2];
  }
};

/** The environment scripts/podman-env.sh left behind, when its socket answers and the test image exists. */
async function existingPodmanEnv(): Promise<boolean> {
  try {
    parseExports(readFileSync(join(process.env.MCPFLEET_PODMAN_DIR ?? "/tmp/mcpfleet-podman", "env"), "utf8"));
    const sock = podmanVars.MCPFLEET_PODMAN_SOCKET;
    const image = podmanVars.MCPFLEET_TEST_IMAGE_HTTP;
    if (!sock || !image) return false;
    if ((await socketGet(sock, "/_ping")).status !== 200) return false;
    return (await socketGet(sock, `/images/${encodeURIComponent(image)}/json`)).status === 200;
  } catch {
    return false;
  }
}

/** `checkService` status of Podman with the test images (`describeWith([podman], ...)`). */
export const podman = await checkService("podman", async () => {
  if (await existingPodmanEnv()) return true;
  try {
    parseExports(
      execFileSync("bash", [join(REPO_ROOT, "scripts/podman-env.sh")], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 180_000,
      }),
    );
  } catch (err) {
    return `scripts/podman-env.sh failed: ${String((err as { stderr?: string }).stderr ?? err)
      .trim()
      .split("\n")
      .slice(-2)
      .join(" | ")}`;
  }
  if (!podmanVars.MCPFLEET_PODMAN_SOCKET || !podmanVars.MCPFLEET_TEST_IMAGE_HTTP)
    return "podman-env.sh printed no socket/image";
  return (
    (await socketGet(podmanVars.MCPFLEET_PODMAN_SOCKET, "/_ping")).status === 200 || "podman socket did not answer"
  );
});

/** Host variables for the Podman runtime, its containers labelled with `owner` on a network of their own. */
export const podmanHostEnv = (owner: string): Record<string, string> => ({
  CONTAINERS_CONF: podmanVars.CONTAINERS_CONF ?? "",
  CONTAINER_HOST: `unix://${podmanVars.MCPFLEET_PODMAN_SOCKET}`,
  FLEET_RUNTIME: "podman",
  PODMAN_OWNER: owner,
  PODMAN_NETWORK: `${owner}-net`,
});

/** The containers (all states) labelled as managed by `owner` (and the instance's only, given its id). */
export async function ownedContainers(owner: string, instanceId?: string): Promise<Array<{ Id: string }>> {
  const label = [`mcpfleet.managed-by=${owner}`, ...(instanceId ? [`mcpfleet.instance-id=${instanceId}`] : [])];
  const filters = encodeURIComponent(JSON.stringify({ label }));
  return JSON.parse(
    (await socketGet(podmanVars.MCPFLEET_PODMAN_SOCKET!, `/containers/json?all=true&filters=${filters}`)).body,
  ) as Array<{ Id: string }>;
}

/** Removes what a suite's `owner` left (even after a failure midway): its containers and its network. */
export async function removeOwned(owner: string): Promise<void> {
  const sock = podmanVars.MCPFLEET_PODMAN_SOCKET;
  if (!sock) return;
  for (const c of await ownedContainers(owner).catch(() => []))
    await socketDelete(sock, `/containers/${c.Id}?force=true`);
  await socketDelete(sock, `/networks/${owner}-net`);
}

export function socketDelete(socketPath: string, path: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const req = request({ socketPath, path, method: "DELETE" }, (r) => {
      r.resume();
      r.on("end", () => resolve());
    });
    req.on("error", () => resolve());
    req.end();
  });
}

export function socketGet(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: "GET", timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A file's text inside an instance's running container, read by the image's node (`podman exec`). */
export async function readInContainer(owner: string, instanceId: string, file: string): Promise<string> {
  const [c] = await ownedContainers(owner, instanceId);
  if (!c) throw new Error(`no container of instance ${instanceId}`);
  return execFileSync(
    "podman",
    [
      "exec",
      c.Id,
      "/usr/bin/node",
      "-e",
      'process.stdout.write(require("fs").readFileSync(process.argv[1], "utf8"))',
      file,
    ],
    {
      encoding: "utf8",
      env: {
        ...process.env,
        CONTAINER_HOST: `unix://${podmanVars.MCPFLEET_PODMAN_SOCKET}`,
        CONTAINERS_CONF: podmanVars.CONTAINERS_CONF ?? "",
      },
      timeout: 30_000,
    },
  );
}

/** The catalog entry `everythingCatalog` writes. */
export const CATALOG_ENTRY = "io.github.mcpfleet-test/everything";

/**
 * A template and a catalog entry for the test images, written under `dir` (`TEMPLATES_DIR`, `CATALOG_DIR`):
 * the template `everything-http` (original-manager flat format, the HTTP image on port 3001) asks for `GREETING` and
 * the secret `UPSTREAM_TOKEN`; the registry server.json `CATALOG_ENTRY` (an OCI package, the stdio image) for the
 * secret `EVERYTHING_TOKEN` and the choice `EVERYTHING_MODE`.
 */
export function everythingCatalog(dir: string): { templatesDir: string; catalogDir: string } {
  const templatesDir = join(dir, "templates");
  const catalogDir = join(dir, "catalog");
  mkdirSync(templatesDir, { recursive: true });
  mkdirSync(catalogDir, { recursive: true });
  writeFileSync(
    join(templatesDir, "everything-http.json"),
    JSON.stringify({
      name: "everything-http",
      description: "server-everything over Streamable HTTP",
      image: podmanVars.MCPFLEET_TEST_IMAGE_HTTP,
      port: 3001,
      environment: { GREETING: "hello" },
      env_schema: [
        { name: "GREETING", required: true, description: "Shown by get-env" },
        { name: "UPSTREAM_TOKEN", required: true, secret: true, description: "Token for the upstream API" },
      ],
    }),
  );
  writeFileSync(
    join(catalogDir, "everything.server.json"),
    JSON.stringify({
      $schema: "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
      name: CATALOG_ENTRY,
      title: "Everything (test image)",
      description: "server-everything over stdio in a container",
      version: "1.0.0",
      packages: [
        {
          registryType: "oci",
          identifier: podmanVars.MCPFLEET_TEST_IMAGE_STDIO,
          transport: { type: "stdio" },
          environmentVariables: [
            { name: "EVERYTHING_TOKEN", isRequired: true, isSecret: true, description: "API token" },
            { name: "EVERYTHING_MODE", description: "Mode", default: "fast", choices: ["fast", "thorough"] },
          ],
        },
      ],
    }),
  );
  return { templatesDir, catalogDir };
}
