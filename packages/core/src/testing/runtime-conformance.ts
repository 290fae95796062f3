import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FleetError } from "../errors.js";
import type { DeployRequest, ObservedInstance, RuntimeBackend } from "../plugins/runtime.js";
import { type DeployRequestOptions, deployRequest } from "./deploy-request.js";

export interface RuntimeConformanceOptions {
  /**
   * A wire `json_spec` the runtime can really run (what `instances.create` takes). The suite builds
   * each request with `deployRequest(spec, { id, specTypes })`; variant "b" adds the environment
   * variable `MCPFLEET_CONFORMANCE_VARIANT=b` (a different spec hash). Give this or `request`.
   */
  spec?: Record<string, unknown>;
  /** The adopter's spec types for `spec` / `crashingSpec`, as given to `createFleet({ specTypes })`. */
  specTypes?: DeployRequestOptions["specTypes"];
  /** A wire spec whose instance exits on its own soon after start (crash detection). Optional. */
  crashingSpec?: Record<string, unknown>;
  /**
   * A request the runtime can really run for `id`, when `spec` does not fit (build it with
   * `deployRequest`). Variant "b" must differ in spec hash (e.g. one more environment variable).
   */
  request?: (id: string, variant: "a" | "b") => DeployRequest;
  /** A request whose instance exits on its own soon after start (crash detection). Optional. */
  crashingRequest?: (id: string) => DeployRequest;
  /** How long to wait for `running` / `exited` (default 30 s). */
  readyTimeoutMs?: number;
  /** Extra tests, with access to the runtime. */
  additionalTests?: (get: () => RuntimeBackend) => void;
}

function requestsOf(options: RuntimeConformanceOptions): {
  request: (id: string, variant: "a" | "b") => DeployRequest;
  crashingRequest?: (id: string) => DeployRequest;
} {
  const { spec, crashingSpec, specTypes } = options;
  const build = (wire: Record<string, unknown>, id: string) => deployRequest(wire, { id, specTypes });
  let request = options.request;
  if (!request && spec) {
    request = (id, variant) => {
      if (variant === "a") return build(spec, id);
      const environment = { ...((spec.environment as Record<string, unknown>) ?? {}) };
      environment.MCPFLEET_CONFORMANCE_VARIANT = "b";
      return build({ ...spec, environment }, id);
    };
  }
  if (!request) throw new Error("runtimeConformance: give options.spec (a json_spec) or options.request");
  const crashingRequest =
    options.crashingRequest ?? (crashingSpec ? (id: string) => build(crashingSpec, id) : undefined);
  return crashingRequest ? { request, crashingRequest } : { request };
}

type Factory = () =>
  | RuntimeBackend
  | Promise<RuntimeBackend | { runtime: RuntimeBackend; cleanup?: () => Promise<void> }>;

async function until(fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
}

/**
 * The RuntimeBackend v1 contract. Three lines in an adapter's test file:
 * `runtimeConformance("podman", () => podmanRuntime(opts), { spec: { type: "docker", image: "..." } })`.
 */
export function runtimeConformance(name: string, factory: Factory, conformance: RuntimeConformanceOptions): void {
  const options = { ...conformance, ...requestsOf(conformance) };
  const timeout = options.readyTimeoutMs ?? 30_000;
  const testTimeout = timeout + 15_000;
  describe(`RuntimeBackend conformance: ${name}`, () => {
    let runtime: RuntimeBackend;
    let cleanup: (() => Promise<void>) | undefined;
    const deployed = new Set<string>();
    const newId = () => {
      const id = `conf-${randomUUID()}`;
      deployed.add(id);
      return id;
    };
    const running = (id: string) =>
      until(async () => (await runtime.inspect(id))?.phase === "running", timeout, `${id} to be running`);

    beforeAll(async () => {
      const made = await factory();
      if ("runtime" in made && typeof (made as { runtime?: unknown }).runtime === "object") {
        runtime = (made as { runtime: RuntimeBackend }).runtime;
        cleanup = (made as { cleanup?: () => Promise<void> }).cleanup;
      } else runtime = made as RuntimeBackend;
    }, testTimeout);

    afterAll(async () => {
      for (const id of deployed) await runtime.remove(id).catch(() => {});
      await runtime.close();
      await cleanup?.();
    }, testTimeout);

    it("is a v1 plug-in with a name, close and asyncDispose", () => {
      expect(runtime.specificationVersion).toBe("v1");
      expect(typeof runtime.name).toBe("string");
      expect(runtime.name.length).toBeGreaterThan(0);
      expect(typeof runtime.close).toBe("function");
      expect(typeof runtime[Symbol.asyncDispose]).toBe("function");
    });

    it("inspect of an unknown id is undefined; remove of an unknown id resolves", async () => {
      const id = `conf-unknown-${randomUUID()}`;
      expect(await runtime.inspect(id)).toBeUndefined();
      await expect(runtime.remove(id)).resolves.toBeUndefined();
    });

    it(
      "deploys, reports the spec hash and reaches running",
      async () => {
        const id = newId();
        const req = options.request(id, "a");
        const observed = await runtime.deploy(req);
        expect(observed.instanceId).toBe(id);
        expect(observed.specHash).toBe(req.instance.specHash);
        await running(id);
        const seen = (await runtime.inspect(id)) as ObservedInstance;
        expect(seen.specHash).toBe(req.instance.specHash);
        expect(seen.endpoint === undefined || typeof seen.endpoint === "string").toBe(true);
      },
      testTimeout,
    );

    it(
      "deploying the same spec twice is a no-op",
      async () => {
        const id = newId();
        const req = options.request(id, "a");
        await runtime.deploy(req);
        await running(id);
        const first = await runtime.inspect(id);
        const again = await runtime.deploy(req);
        expect(again.specHash).toBe(req.instance.specHash);
        const second = await runtime.inspect(id);
        expect(second?.phase).toBe("running");
        if (first?.startedAt && second?.startedAt) expect(second.startedAt).toBe(first.startedAt);
        const mine = (await runtime.list()).filter((o) => o.instanceId === id);
        expect(mine).toHaveLength(1);
      },
      testTimeout,
    );

    it(
      "a different spec hash replaces the deployment",
      async () => {
        const id = newId();
        const a = options.request(id, "a");
        const b = options.request(id, "b");
        expect(b.instance.specHash).not.toBe(a.instance.specHash);
        await runtime.deploy(a);
        await running(id);
        await runtime.deploy(b);
        await until(
          async () => {
            const o = await runtime.inspect(id);
            return o?.specHash === b.instance.specHash && o.phase === "running";
          },
          timeout,
          "replacement to run",
        );
        const mine = (await runtime.list()).filter((o) => o.instanceId === id);
        expect(mine).toHaveLength(1);
        expect(mine[0]?.specHash).toBe(b.instance.specHash);
      },
      testTimeout * 2,
    );

    it(
      "remove deletes what it owns and is idempotent",
      async () => {
        const id = newId();
        await runtime.deploy(options.request(id, "a"));
        await runtime.remove(id);
        expect(await runtime.inspect(id)).toBeUndefined();
        expect((await runtime.list()).some((o) => o.instanceId === id)).toBe(false);
        await expect(runtime.remove(id)).resolves.toBeUndefined();
      },
      testTimeout,
    );

    it(
      "list returns every owned deployment with its spec hash",
      async () => {
        const ids = [newId(), newId()];
        const reqs = ids.map((id) => options.request(id, "a"));
        await Promise.all(reqs.map((r) => runtime.deploy(r)));
        const listed = await runtime.list();
        for (const r of reqs) {
          const o = listed.find((x) => x.instanceId === r.instance.id);
          expect(o, `list() misses ${r.instance.id}`).toBeDefined();
          expect(o?.specHash).toBe(r.instance.specHash);
        }
        for (const id of ids) await runtime.remove(id);
      },
      testTimeout,
    );

    it("honours an aborted signal on deploy", async () => {
      const ctrl = new AbortController();
      ctrl.abort();
      const id = newId();
      const err = await runtime.deploy(options.request(id, "a"), { signal: ctrl.signal }).catch((e) => e);
      expect(FleetError.isInstance(err)).toBe(true);
      expect((err as FleetError).code).toBe("ABORTED");
    });

    it(
      "logs: yields LogLine objects and a non-follow read ends (capability logs)",
      async (t) => {
        if (!runtime.capabilities?.logs) {
          t.skip();
          return;
        }
        const id = newId();
        await runtime.deploy(options.request(id, "a"));
        await running(id);
        const lines = [];
        for await (const l of runtime.logs(id, { tail: 50 })) lines.push(l);
        for (const l of lines) {
          expect(typeof l.line).toBe("string");
          expect(["stdout", "stderr"]).toContain(l.stream);
          expect(typeof l.time).toBe("string");
        }
        const ctrl = new AbortController();
        const follow = (async () => {
          let n = 0;
          for await (const _ of runtime.logs(id, { follow: true, tail: 0, signal: ctrl.signal })) n++;
          return n;
        })();
        setTimeout(() => ctrl.abort(), 200);
        await expect(follow).resolves.toBeTypeOf("number");
      },
      testTimeout,
    );

    it(
      "detects an instance that exits (crashingRequest)",
      async (t) => {
        if (!options.crashingRequest) {
          t.skip();
          return;
        }
        const id = newId();
        await runtime.deploy(options.crashingRequest(id));
        await until(
          async () => {
            const o = await runtime.inspect(id);
            return o?.phase === "exited" || o?.phase === "failed";
          },
          timeout,
          `${id} to exit`,
        );
      },
      testTimeout,
    );

    it(
      "watch reports changes of a deployment (capability watch)",
      async (t) => {
        if (!runtime.capabilities?.watch || !runtime.watch) {
          t.skip();
          return;
        }
        const ctrl = new AbortController();
        const id = newId();
        const seen = (async () => {
          for await (const ev of runtime.watch!({ signal: ctrl.signal })) {
            if (ev.instanceId === id) return ev;
          }
          return undefined;
        })();
        await new Promise((r) => setTimeout(r, 100));
        await runtime.deploy(options.request(id, "a"));
        if (options.crashingRequest) await runtime.deploy(options.crashingRequest(id));
        const timer = setTimeout(() => ctrl.abort(), timeout);
        const ev = await seen;
        clearTimeout(timer);
        ctrl.abort();
        expect(ev?.instanceId).toBe(id);
        expect(["started", "exited", "removed", "changed"]).toContain(ev?.kind);
      },
      testTimeout,
    );

    options.additionalTests?.(() => runtime);
  });
}
