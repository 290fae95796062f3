import {
  extractSecrets,
  FleetError,
  formatSecretRef,
  isSecretRef,
  memorySecrets,
  parseInstanceSpec,
  parseSecretRef,
  redactSecrets,
  redactSpec,
  resolveSpecSecrets,
  type SecretStore,
} from "@mcpfleet/core";
import { describe, expect, it } from "vitest";
import { seed } from "./seeds.js";

const CANARY = "canary-Zq9-secret-value";

async function rejects(p: Promise<unknown>): Promise<FleetError> {
  try {
    await p;
  } catch (err) {
    expect(FleetError.isInstance(err)).toBe(true);
    return err as FleetError;
  }
  throw new Error("expected a rejection");
}

describe("secret refs", () => {
  it("parse / format / isSecretRef", () => {
    expect(parseSecretRef("secret_ref:instance_123:API_KEY")).toEqual({ scope: "instance_123", key: "API_KEY" });
    expect(parseSecretRef("secret_ref:a.b-c:d_e.f")).toEqual({ scope: "a.b-c", key: "d_e.f" });
    expect(formatSecretRef({ scope: "instance_123", key: "API_KEY" })).toBe("secret_ref:instance_123:API_KEY");
    expect(isSecretRef("secret_ref:a:b")).toBe(true);
    for (const bad of [
      "secret_ref:a",
      "secret_ref::b",
      "secret_ref:a:b:c",
      "secret_ref:a b:c",
      "SECRET_REF:a:b",
      " secret_ref:a:b",
      "secret_ref:a:b\n",
      "",
      5,
      null,
      {},
    ]) {
      expect(isSecretRef(bad)).toBe(false);
      expect(() => parseSecretRef(bad)).toThrowError(expect.objectContaining({ code: "SPEC_INVALID" }));
    }
    expect(() => formatSecretRef({ scope: "a:b", key: "c" })).toThrowError(
      expect.objectContaining({ code: "SPEC_INVALID" }),
    );
  });

  it("a malformed ref error does not echo the input", () => {
    try {
      parseSecretRef(`not-a-ref-${CANARY}`);
    } catch (err) {
      expect((err as Error).message).not.toContain(CANARY);
    }
  });
});

describe("resolveSpecSecrets", () => {
  it("resolves env refs, keeps literals apart", async () => {
    const store = memorySecrets({ instance_123: { API_KEY: CANARY } });
    const spec = parseInstanceSpec(seed("instance-spec-docker-full.json"));
    const { env, secrets } = await resolveSpecSecrets(spec, store);
    expect(env).toEqual({ ALLOWED_DIRECTORIES: "/tmp,/var/tmp", MAX_FILE_SIZE: "5MB" });
    expect(secrets).toEqual({ env: { API_KEY: CANARY }, headers: {} });
  });

  it("resolves the url bearer token and header refs, each distinct ref once, in parallel", async () => {
    const inner = memorySecrets({ instance_123: { AUTH_TOKEN: "tok", H: "hv" } });
    const calls: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const store: SecretStore = {
      specificationVersion: "v1",
      name: "counting",
      set: (ref, v) => inner.set(ref, v),
      delete: (ref) => inner.delete(ref),
      close: () => inner.close(),
      [Symbol.asyncDispose]: () => inner.close(),
      async get(ref, o) {
        calls.push(`${ref.scope}:${ref.key}`);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return inner.get(ref, o);
      },
    };
    const spec = parseInstanceSpec({
      ...seed<Record<string, unknown>>("instance-spec-url-full.json"),
      headers: { "X-One": "secret_ref:instance_123:H", "X-Two": "secret_ref:instance_123:H", "X-Plain": "p" },
    });
    const { secrets } = await resolveSpecSecrets(spec, store);
    expect(secrets).toEqual({ env: {}, headers: { "X-One": "hv", "X-Two": "hv" }, authToken: "tok" });
    expect(calls.sort()).toEqual(["instance_123:AUTH_TOKEN", "instance_123:H"]);
    expect(maxInFlight).toBe(2);
  });

  it("a missing secret is SECRET_NOT_FOUND naming the ref and where it is used", async () => {
    const store = memorySecrets({ instance_123: { OTHER: CANARY } });
    const err = await rejects(resolveSpecSecrets(parseInstanceSpec(seed("instance-spec-docker-minimal.json")), store));
    expect(err.code).toBe("SECRET_NOT_FOUND");
    expect(err.message).toContain("secret_ref:instance_123:API_KEY");
    expect(err.message).toContain("environment.API_KEY");
    expect(JSON.stringify(err.toJSON())).not.toContain(CANARY);
  });

  it("store failures keep their code; foreign errors become SECRET_STORE_UNAVAILABLE; abort is ABORTED", async () => {
    const broken = (e: unknown): SecretStore => ({
      ...memorySecrets(),
      name: "broken",
      get: async () => Promise.reject(e),
    });
    const spec = parseInstanceSpec(seed("instance-spec-docker-minimal.json"));
    expect(
      (await rejects(resolveSpecSecrets(spec, broken(new FleetError("SECRET_ACCESS_DENIED", "denied"))))).code,
    ).toBe("SECRET_ACCESS_DENIED");
    const e = await rejects(resolveSpecSecrets(spec, broken(new TypeError("socket hang up"))));
    expect(e.code).toBe("SECRET_STORE_UNAVAILABLE");
    expect(e.isRetryable).toBe(true);
    const ac = new AbortController();
    ac.abort();
    expect((await rejects(resolveSpecSecrets(spec, memorySecrets(), { signal: ac.signal }))).code).toBe("ABORTED");
  });
});

describe("extractSecrets", () => {
  it("moves env secrets into refs under the scope and returns the writes", () => {
    const wire = seed("instance-filesystem.json").json_spec as Record<string, unknown>;
    const { spec, writes } = extractSecrets(wire, { API_KEY: CANARY }, "instance_abc");
    expect((spec.environment as Record<string, string>).API_KEY).toBe("secret_ref:instance_abc:API_KEY");
    expect(writes).toEqual([{ ref: { scope: "instance_abc", key: "API_KEY" }, value: CANARY }]);
    expect(JSON.stringify(spec)).not.toContain(CANARY);
    expect((wire.environment as Record<string, string>).API_KEY).toBeUndefined();
    expect(parseInstanceSpec(spec)).toMatchObject({ environment: { API_KEY: "secret_ref:instance_abc:API_KEY" } });
  });

  it("AUTH_TOKEN / authentication.token / headers.<name> on url specs", () => {
    const wire = seed("instance-spec-url-shorthand.json");
    const a = extractSecrets(wire, { AUTH_TOKEN: CANARY, "headers.X-Api-Key": "k" }, "instance_1");
    expect(a.spec.authentication).toEqual({ type: "bearer", token: "secret_ref:instance_1:AUTH_TOKEN" });
    expect(a.spec.headers).toEqual({ "X-Api-Key": "secret_ref:instance_1:headers.X-Api-Key" });
    expect(a.writes.map((w) => w.ref.key).sort()).toEqual(["AUTH_TOKEN", "headers.X-Api-Key"]);
    expect(extractSecrets(wire, { "authentication.token": "t" }, "s").spec.authentication).toEqual({
      type: "bearer",
      token: "secret_ref:s:AUTH_TOKEN",
    });
    expect(parseInstanceSpec(a.spec)).toMatchObject({ type: "url" });
  });

  it("refuses names that cannot be placed, without echoing values", () => {
    const docker = { type: "docker", image: "nginx" };
    const err = (() => {
      try {
        extractSecrets(
          docker,
          { "bad name": CANARY, "authentication.token": "x", "headers.X": "y", N: 5 as never },
          "s",
        );
      } catch (e) {
        return e as FleetError;
      }
    })();
    expect(err?.code).toBe("SPEC_INVALID");
    expect(err?.issues.map((i) => i.path).sort()).toEqual([
      "secrets.N",
      "secrets.authentication.token",
      "secrets.bad name",
      "secrets.headers.X",
    ]);
    expect(err?.message).not.toContain(CANARY);
    expect(() => extractSecrets({ type: "url", endpoint: "http://x" }, { API_KEY: "v" }, "s")).toThrowError(
      expect.objectContaining({ code: "SPEC_INVALID" }),
    );
    expect(() => extractSecrets(docker, { A: "v" }, "bad scope")).toThrowError(
      expect.objectContaining({ code: "SPEC_INVALID" }),
    );
  });
});

describe("redaction", () => {
  it("redactSecrets replaces every occurrence deeply, longest first, without mutating", () => {
    const input = {
      msg: `token=${CANARY}; again ${CANARY}`,
      list: [CANARY, "ok", 5],
      nested: { [CANARY]: { x: `pre${CANARY}` } },
      n: null,
    };
    const out = redactSecrets(input, [CANARY, "Zq9", ""]);
    expect(JSON.stringify(out)).not.toContain(CANARY);
    expect(JSON.stringify(out)).not.toContain("Zq9");
    expect(out.msg).toBe("token=[REDACTED]; again [REDACTED]");
    expect(out.list).toEqual(["[REDACTED]", "ok", 5]);
    expect(input.msg).toContain(CANARY);
    expect(redactSecrets(new Error(`boom ${CANARY}`), [CANARY])).toEqual({ name: "Error", message: "boom [REDACTED]" });
    const cyc: Record<string, unknown> = { a: CANARY };
    cyc.self = cyc;
    expect(redactSecrets(cyc, [CANARY])).toEqual({ a: "[REDACTED]", self: "[Circular]" });
  });

  it("redactSpec hides literal tokens and sensitive literals, keeps refs", () => {
    const wire = {
      type: "url",
      endpoint: "http://x/mcp",
      authentication: { type: "bearer", token: CANARY },
      headers: { Authorization: `Bearer ${CANARY}`, "X-Trace": "t", "X-Api-Key": "secret_ref:s:K" },
    };
    const out = redactSpec(wire);
    expect(JSON.stringify(out)).not.toContain(CANARY);
    expect(out.headers).toEqual({ Authorization: "[REDACTED]", "X-Trace": "t", "X-Api-Key": "secret_ref:s:K" });
    expect(wire.authentication.token).toBe(CANARY);
    const d = redactSpec(
      {
        type: "docker",
        image: "x",
        environment: { DB_PASSWORD: CANARY, MODE: "prod", API_KEY: "secret_ref:a:b", CUSTOM: CANARY },
      },
      { secretNames: ["CUSTOM"] },
    );
    expect(d.environment).toEqual({
      DB_PASSWORD: "[REDACTED]",
      MODE: "prod",
      API_KEY: "secret_ref:a:b",
      CUSTOM: "[REDACTED]",
    });
  });
});
