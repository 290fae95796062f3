import { recordingLogger } from "@mcpfleet/core";
import { afterAll, beforeAll } from "vitest";
import { type KubernetesRuntime, kubernetesRuntime } from "../src/index.js";
import { FakeApiServer } from "./fake-apiserver/index.js";

export const NS = "fleet";

/** A fake API server plus a runtime on it for one test file (recording logger for canary checks). */
export function useFakeRuntime() {
  const ctx = {
    fake: undefined as unknown as FakeApiServer,
    rt: undefined as unknown as KubernetesRuntime,
    logger: recordingLogger(),
  };
  beforeAll(async () => {
    ctx.fake = await FakeApiServer.start({ namespaces: [NS] });
    ctx.rt = kubernetesRuntime({
      kubeConfig: ctx.fake.kubeConfig(),
      namespace: NS,
      logger: ctx.logger,
      watchRetryMs: 20,
    });
  });
  afterAll(async () => {
    await ctx.rt.close();
    await ctx.fake.close();
  });
  return ctx;
}

export async function until<T>(fn: () => Promise<T | undefined | false>, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
