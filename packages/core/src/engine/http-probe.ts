import { FleetError } from "../errors.js";
import type { HealthProbe, ProbeResult, ProbeTarget } from "./fleet-types.js";
import { guardedFetch } from "./guarded-fetch.js";

/** GET `<endpoint origin><health_check.path>`; 2xx is healthy. Used when the spec names a path. */
export function httpProbe(): HealthProbe {
  return {
    name: "http",
    appliesTo: (t: ProbeTarget) => Boolean(t.spec.healthCheck?.path) && /^https?:/.test(t.endpoint),
    async check(t, { signal, timeoutMs }): Promise<ProbeResult> {
      const url = new URL(t.spec.healthCheck!.path!, t.endpoint);
      const started = performance.now();
      const timeout = AbortSignal.timeout(timeoutMs);
      try {
        // a user-supplied endpoint connects through the policy (every resolved address checked)
        const get = t.external && t.policy ? guardedFetch(t.policy) : fetch;
        const res = await get(url, { headers: t.headers, signal: AbortSignal.any([signal, timeout]) });
        await res.body?.cancel();
        const latencyMs = performance.now() - started;
        return res.ok
          ? { ok: true, latencyMs }
          : { ok: false, latencyMs, reason: `GET ${url.pathname} answered ${res.status}` };
      } catch (err) {
        const reason = timeout.aborted
          ? `GET ${url.pathname} timed out after ${timeoutMs} ms`
          : `GET ${url.pathname} failed: ${(err as Error).message}`;
        if (FleetError.isInstance(err) && err.code === "ENDPOINT_REFUSED") return { ok: false, reason: err.message };
        return { ok: false, reason };
      }
    },
  };
}
