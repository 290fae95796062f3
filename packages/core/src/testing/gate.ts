import { describe, it } from "vitest";

export interface ServiceStatus {
  name: string;
  available: boolean;
  reason?: string;
}

/**
 * Checks a service once (top-level await in a test file). `probe` resolves true when reachable, or
 * false/a string saying why not; throwing counts as unavailable with the error message.
 */
export async function checkService(name: string, probe: () => Promise<boolean | string>): Promise<ServiceStatus> {
  try {
    const result = await probe();
    if (result === true) return { name, available: true };
    return { name, available: false, reason: typeof result === "string" ? result : "not reachable" };
  } catch (err) {
    return { name, available: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

/** True when `REQUIRE_INTEGRATION=1`: a skipped integration suite is then a failure. */
export function integrationRequired(): boolean {
  return process.env.REQUIRE_INTEGRATION === "1" || process.env.REQUIRE_INTEGRATION === "true";
}

/**
 * `describe` that runs when every service is available. Otherwise it skips loudly (the suite title
 * carries the reason), and under `REQUIRE_INTEGRATION=1` it registers a failing test instead.
 */
export function describeWith(services: ServiceStatus[], title: string, body: () => void): void {
  const missing = services.filter((s) => !s.available);
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  const why = missing.map((s) => `${s.name}: ${s.reason ?? "unavailable"}`).join("; ");
  if (integrationRequired()) {
    describe(title, () => {
      it(`requires ${missing.map((s) => s.name).join(", ")}`, () => {
        throw new Error(`REQUIRE_INTEGRATION=1 but ${why}`);
      });
    });
    return;
  }
  describe.skip(`${title} [skipped: ${why}]`, body);
}
