import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import type { ObservedInstance } from "@mcpfleet/core";
import { ANN_GENERATION, ANN_INSTANCE_ID, ANN_SPEC_HASH, ANN_TRANSPORT, LABEL_SPEC_HASH, labelValue } from "./names.js";

/** Waiting reasons that mean the pod cannot start; `permanent` when retrying cannot help. */
const FAILING: Record<string, boolean> = {
  CrashLoopBackOff: false,
  ImagePullBackOff: true,
  ErrImagePull: true,
  InvalidImageName: true,
  ErrImageNeverPull: true,
  CreateContainerConfigError: false,
  CreateContainerError: false,
  RunContainerError: false,
};

const iso = (d: Date | string | undefined): string | undefined =>
  d === undefined ? undefined : d instanceof Date ? d.toISOString() : new Date(d).toISOString();

export interface PodVerdict {
  reason: string;
  permanent: boolean;
  exitCode?: number;
}

/** The first failing container state among the pods, if any. */
export function podFailure(pods: V1Pod[]): PodVerdict | undefined {
  for (const pod of pods) {
    for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
      const waiting = cs.state?.waiting;
      // A Secret applied a moment after its Deployment: the kubelet retries, so this is still starting.
      const secretRace =
        waiting?.reason === "CreateContainerConfigError" && /secret .*not found/i.test(waiting.message ?? "");
      if (waiting?.reason && waiting.reason in FAILING && !secretRace) {
        const last = cs.lastState?.terminated;
        return {
          reason: `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""} (pod ${pod.metadata?.name})`,
          // A pod the kubelet refuses to start (root image under runAsNonRoot) will not start on retry.
          permanent: FAILING[waiting.reason] === true || /runAsNonRoot/.test(waiting.message ?? ""),
          ...(last?.exitCode !== undefined ? { exitCode: last.exitCode } : {}),
        };
      }
    }
    if (pod.status?.phase === "Failed") {
      return { reason: `pod ${pod.metadata?.name} failed: ${pod.status.reason ?? "unknown"}`, permanent: false };
    }
  }
  return undefined;
}

export interface ObserveContext {
  endpoint?: (instanceId: string, port: number, transport: "streamable-http" | "sse") => string;
}

/** Maps a Deployment and its pods to what the runtime reports. */
export function observe(dep: V1Deployment, allPods: V1Pod[], ctx: ObserveContext): ObservedInstance {
  const ann = dep.metadata?.annotations ?? {};
  const instanceId = ann[ANN_INSTANCE_ID] ?? "";
  const specHash = ann[ANN_SPEC_HASH] ?? "";
  const transport = ann[ANN_TRANSPORT] === "sse" ? "sse" : "streamable-http";
  const generation = ann[ANN_GENERATION] !== undefined ? Number(ann[ANN_GENERATION]) : undefined;
  const desired = dep.spec?.replicas ?? 1;
  const status = dep.status ?? {};
  const ready = status.readyReplicas ?? 0;
  const current = allPods.filter(
    (p) => p.metadata?.labels?.[LABEL_SPEC_HASH] === labelValue(specHash) && !p.metadata?.deletionTimestamp,
  );
  const rolledOut =
    (status.observedGeneration ?? 0) >= (dep.metadata?.generation ?? 0) &&
    (status.updatedReplicas ?? 0) >= desired &&
    (status.replicas ?? 0) <= desired;
  const port = dep.spec?.template?.spec?.containers?.[0]?.ports?.[0]?.containerPort;
  const base: ObservedInstance = {
    instanceId,
    specHash,
    ...(generation !== undefined && Number.isFinite(generation) ? { generation } : {}),
    phase: "pending",
    transport,
    replicas: { desired, ready },
    ...(port !== undefined && ctx.endpoint ? { endpoint: ctx.endpoint(instanceId, port, transport) } : {}),
  };
  const started = current
    .map((p) => iso(p.status?.startTime))
    .filter((s): s is string => s !== undefined)
    .sort()[0];
  if (started) base.startedAt = started;
  else {
    const created = iso(dep.metadata?.creationTimestamp);
    if (created) base.startedAt = created;
  }

  if (desired === 0) return { ...base, phase: "exited", reason: "scaled to zero replicas" };
  const failure = podFailure(current);
  const stuck = status.conditions?.find((c) => c.type === "Progressing" && c.status === "False");
  if (failure && ready < desired) {
    return {
      ...base,
      phase: "failed",
      reason: failure.reason,
      permanent: failure.permanent,
      ...(failure.exitCode !== undefined ? { exitCode: failure.exitCode } : {}),
    };
  }
  if (stuck && ready < desired) {
    return {
      ...base,
      phase: "failed",
      reason: `${stuck.reason ?? "Progressing=False"}: ${stuck.message ?? ""}`.trim(),
    };
  }
  if (rolledOut && ready >= desired) return { ...base, phase: "running" };
  if (current.length > 0 || (status.replicas ?? 0) > 0) return { ...base, phase: "starting" };
  return base;
}
