import type { ServerContext } from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import { gatewayStateCodec } from "../src/aggregate/request-state.js";
import { authInfoOf } from "../src/principal.js";

// The gateway's requestState codec: sealed, bound to principal and method, expiring.
const ctx = (method: string, principal?: string) =>
  ({
    mcpReq: { method },
    ...(principal ? { http: { authInfo: authInfoOf({ id: principal, role: "viewer" }) } } : {}),
  }) as unknown as ServerContext;

describe("gateway requestState", () => {
  const codec = gatewayStateCodec({ key: "x".repeat(32) });
  const state = { instance: "ev", target: "ev__echo", upstream: "their-state" };

  it("round-trips for the same principal and method", async () => {
    const sealed = await codec.mint(state, ctx("tools/call", "alice"));
    expect(sealed).not.toContain("alice");
    await expect(codec.verify(sealed, ctx("tools/call", "alice"))).resolves.toEqual(state);
  });

  it("refuses another principal, another method, anonymous, a tampered value and another key", async () => {
    const sealed = await codec.mint(state, ctx("tools/call", "alice"));
    await expect(codec.verify(sealed, ctx("tools/call", "bob"))).rejects.toThrow();
    await expect(codec.verify(sealed, ctx("prompts/get", "alice"))).rejects.toThrow();
    await expect(codec.verify(sealed, ctx("tools/call"))).rejects.toThrow();
    const flipped = `${sealed.slice(0, 10)}${sealed[10] === "A" ? "B" : "A"}${sealed.slice(11)}`;
    await expect(codec.verify(flipped, ctx("tools/call", "alice"))).rejects.toThrow();
    const other = gatewayStateCodec({ key: "y".repeat(32) });
    await expect(other.verify(sealed, ctx("tools/call", "alice"))).rejects.toThrow();
  });

  it("expires", async () => {
    const short = gatewayStateCodec({ key: "z".repeat(32), ttlSeconds: 1 });
    const sealed = await short.mint(state, ctx("tools/call", "alice"));
    let err: unknown;
    for (let i = 0; i < 200 && !err; i++) {
      err = await short.verify(sealed, ctx("tools/call", "alice")).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!err) await new Promise((r) => setTimeout(r, 50));
    }
    expect((err as Error).message).toBe("expired");
  });
});
