import type { RestartPolicy } from "../model/spec-types.js";
import type { Instance } from "../model/types.js";
import type { ObservedInstance } from "../plugins/runtime.js";
import { backoffDelay } from "../util/async.js";

/** What to do after an instance stopped on its own (crash, exit, start timeout, failed liveness). */
export type CrashDecision =
  | { kind: "fail"; reason: string; restartCount?: number }
  | { kind: "restart"; attempt: number; reason: string };

/** What to do after `runtime.deploy` threw. */
export type DeployFailureDecision =
  | { kind: "fail"; reason: string; restartCount: number }
  | { kind: "retry"; attempt: number; reason: string };

export interface RestartSettings {
  maxRestarts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/** The spec's `restart_policy`; anything unset or unknown is `on-failure`. */
export function restartPolicyOf(inst: Instance): RestartPolicy {
  const raw = (inst.json_spec as { restart_policy?: unknown }).restart_policy;
  return raw === "always" || raw === "unless-stopped" || raw === "on-failure" || raw === "no" ? raw : "on-failure";
}

export function crashReason(observed: Pick<ObservedInstance, "reason" | "exitCode">): string {
  return observed.reason ?? `exited${observed.exitCode === undefined ? "" : ` with code ${observed.exitCode}`}`;
}

/**
 * Pure: a permanent failure fails; the restart policy decides whether an exit restarts (`on-failure`
 * restarts any exit but code 0; an exit without a code counts as a failure); past `maxRestarts`
 * consecutive restarts the crash loop fails the instance.
 */
export function afterCrash(
  inst: Instance,
  observed: Pick<ObservedInstance, "reason" | "exitCode" | "permanent">,
  settings: Pick<RestartSettings, "maxRestarts">,
): CrashDecision {
  const reason = crashReason(observed);
  if (observed.permanent) return { kind: "fail", reason };
  const policy = restartPolicyOf(inst);
  const wantsRestart =
    policy === "always" || policy === "unless-stopped" || (policy === "on-failure" && observed.exitCode !== 0);
  if (!wantsRestart) return { kind: "fail", reason: `${reason} (restart policy "${policy}")` };
  const attempt = inst.restart_count + 1;
  if (attempt > settings.maxRestarts) {
    return {
      kind: "fail",
      reason: `crash loop: ${attempt} failures in a row (${inst.restart_count} restarts); last: ${reason}`,
      restartCount: attempt,
    };
  }
  return { kind: "restart", attempt, reason };
}

/** Pure: a non-retryable error fails at once; a retryable one retries until `maxRestarts`. */
export function afterDeployFailure(
  inst: Instance,
  err: { code: string; message: string; isRetryable: boolean },
  settings: Pick<RestartSettings, "maxRestarts">,
): DeployFailureDecision {
  const attempt = inst.restart_count + 1;
  const reason = `${err.code}: ${err.message}`;
  if (!err.isRetryable || attempt > settings.maxRestarts) {
    return {
      kind: "fail",
      reason: err.isRetryable ? `gave up after ${attempt} attempts: ${reason}` : reason,
      restartCount: attempt,
    };
  }
  return { kind: "retry", attempt, reason };
}

/** An unhealthy (failed liveness) instance is restarted unless its policy is `no`; then it stays unhealthy. */
export function restartsWhenUnhealthy(inst: Instance): boolean {
  return restartPolicyOf(inst) !== "no";
}

/**
 * Delay before restart `attempt` (1-based): `backoffBaseMs * 2^(attempt-1)` capped at `backoffMaxMs`,
 * then jittered down by up to half.
 */
export function restartDelay(attempt: number, settings: RestartSettings, random?: () => number): number {
  return backoffDelay(attempt - 1, {
    baseMs: settings.backoffBaseMs,
    maxMs: settings.backoffMaxMs,
    jitter: 0.5,
    ...(random ? { random } : {}),
  });
}
