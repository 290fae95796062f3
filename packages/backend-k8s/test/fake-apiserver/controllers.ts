import { createHash, randomBytes } from "node:crypto";
import { byKind, RESOURCES, type ResourceInfo } from "./resources.js";
import type { JsonObject } from "./ssa.js";
import type { ObjectStore, StoredEvent } from "./store.js";

const DEPLOYMENTS = byKind("Deployment") as ResourceInfo;
const PODS = byKind("Pod") as ResourceInfo;

export type PodMode = "ready" | "crashloop" | "imagepull";

export interface LogEntry {
  time: string;
  line: string;
}

/** How a pod of this image behaves: `crashloop` / `imagepull` in the image name, else ready. */
export function modeForImage(image: string): PodMode {
  if (image.includes("crashloop")) return "crashloop";
  if (image.includes("imagepull") || image.includes("does-not-exist")) return "imagepull";
  return "ready";
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
const meta = (o: JsonObject) => o.metadata as any;

/**
 * Just enough of kube-controller-manager: the Deployment controller (pods per template hash,
 * status), the kubelet (container states, logs) and the garbage collector (ownerReferences).
 */
export class Controllers {
  readonly logs = new Map<string, LogEntry[]>(); // "ns/pod" -> lines
  readonly logListeners = new Set<(key: string, entry: LogEntry) => void>();
  /** Forced pod modes by pod-name prefix (test hook). */
  readonly overrides = new Map<string, PodMode>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private dirty = new Set<string>();
  private stopped = false;

  constructor(
    private store: ObjectStore,
    private delayMs: number,
  ) {
    store.listeners.add((ev) => this.onEvent(ev));
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private onEvent(ev: StoredEvent) {
    if (ev.resource === DEPLOYMENTS) this.schedule(`${meta(ev.object).namespace}/${meta(ev.object).name}`);
    if (ev.resource === PODS && ev.type !== "ADDED") {
      const owner = (meta(ev.object).ownerReferences ?? []).find((o: any) => o.kind === "Deployment");
      if (owner) this.schedule(`${meta(ev.object).namespace}/${owner.name}`);
    }
  }

  private schedule(key: string) {
    if (this.stopped) return;
    this.dirty.add(key);
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const keys = [...this.dirty];
      this.dirty.clear();
      for (const k of keys) this.reconcile(k);
    }, this.delayMs);
  }

  appendLog(ns: string, pod: string, line: string) {
    const key = `${ns}/${pod}`;
    const entry = { time: new Date().toISOString(), line };
    const list = this.logs.get(key) ?? [];
    list.push(entry);
    this.logs.set(key, list);
    for (const l of this.logListeners) l(key, entry);
  }

  /** Puts every current pod of a Deployment into `mode` (and future ones until cleared). */
  setMode(ns: string, deployment: string, mode: PodMode | undefined) {
    if (mode) this.overrides.set(`${ns}/${deployment}`, mode);
    else this.overrides.delete(`${ns}/${deployment}`);
    for (const pod of this.store.list(PODS, ns)) {
      const owner = (meta(pod).ownerReferences ?? []).find((o: any) => o.kind === "Deployment");
      if (owner?.name !== deployment) continue;
      const image = (pod.spec as any).containers[0].image as string;
      this.store.updateStatus(
        PODS,
        ns,
        meta(pod).name,
        podStatus(mode ?? modeForImage(image), image, pod.status as any),
      );
    }
    this.schedule(`${ns}/${deployment}`);
  }

  private reconcile(key: string) {
    const [ns, name] = key.split("/") as [string, string];
    const dep = this.store.get(DEPLOYMENTS, ns, name);
    if (!dep || meta(dep).deletionTimestamp) return;
    const spec = dep.spec as any;
    const template = spec.template;
    const hash = createHash("sha256").update(JSON.stringify(template)).digest("hex").slice(0, 10);
    const desired = spec.replicas ?? 1;
    const owned = this.store
      .list(PODS, ns)
      .filter((p) => (meta(p).ownerReferences ?? []).some((o: any) => o.uid === meta(dep).uid));
    // Old template hash: replaced. Extra pods: scaled down.
    const current = owned.filter((p) => meta(p).labels?.["pod-template-hash"] === hash);
    for (const p of owned) if (!current.includes(p)) this.deletePod(ns, meta(p).name);
    for (const p of current.slice(desired)) this.deletePod(ns, meta(p).name);
    const keep = current.slice(0, desired);
    const override = this.overrides.get(key);
    for (let i = keep.length; i < desired; i++) keep.push(this.createPod(dep, hash, override));
    const ready = keep.filter((p) => (p.status as any)?.containerStatuses?.[0]?.ready === true).length;
    const failing = keep.some((p) => (p.status as any)?.containerStatuses?.[0]?.state?.waiting);
    const status: JsonObject = {
      observedGeneration: meta(dep).generation,
      replicas: keep.length,
      updatedReplicas: keep.length,
      readyReplicas: ready,
      availableReplicas: ready,
      ...(keep.length - ready > 0 ? { unavailableReplicas: keep.length - ready } : {}),
      conditions: [
        {
          type: "Available",
          status: ready >= desired ? "True" : "False",
          reason: ready >= desired ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
          message:
            ready >= desired
              ? "Deployment has minimum availability."
              : "Deployment does not have minimum availability.",
          lastUpdateTime: now(),
          lastTransitionTime: now(),
        },
        {
          type: "Progressing",
          status: "True",
          reason: failing ? "ReplicaSetUpdated" : "NewReplicaSetAvailable",
          message: `ReplicaSet "${name}-${hash}" ${failing ? "is progressing" : "has successfully progressed"}.`,
          lastUpdateTime: now(),
          lastTransitionTime: now(),
        },
      ],
    };
    if (ready === 0) delete status.readyReplicas;
    if (ready === 0) delete status.availableReplicas;
    // Conditions carry times; only write when the counts change.
    const prev = (dep.status ?? {}) as any;
    const same =
      prev.observedGeneration === status.observedGeneration &&
      prev.replicas === status.replicas &&
      prev.updatedReplicas === status.updatedReplicas &&
      (prev.readyReplicas ?? 0) === ready &&
      prev.conditions?.[1]?.reason === (status.conditions as any)[1].reason;
    if (!same) this.store.updateStatus(DEPLOYMENTS, ns, name, status);
  }

  private createPod(dep: JsonObject, hash: string, override: PodMode | undefined): JsonObject {
    const d = meta(dep);
    const template = (dep.spec as any).template;
    const name = `${d.name}-${hash}-${randomBytes(3).toString("hex").slice(0, 5)}`;
    const image = template.spec.containers[0].image as string;
    const mode = override ?? modeForImage(image);
    const pod: JsonObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        namespace: d.namespace,
        labels: { ...template.metadata?.labels, "pod-template-hash": hash },
        ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            name: d.name,
            uid: d.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: structuredClone(template.spec),
      status: podStatus(mode, image, undefined),
    };
    const stored = this.store.put(PODS, pod, []);
    if (mode === "ready") {
      this.appendLog(d.namespace, name, `starting ${image}`);
      this.appendLog(d.namespace, name, "listening");
    } else if (mode === "crashloop") this.appendLog(d.namespace, name, "fatal: exiting with code 1");
    return stored;
  }

  private deletePod(ns: string, name: string) {
    this.store.remove(PODS, ns, name);
    const key = `${ns}/${name}`;
    for (const l of this.logListeners) l(key, { time: "", line: "" });
    this.logs.delete(key);
  }

  /** Garbage collector: deletes objects whose owners are all gone. */
  collectGarbage(ns: string, ownerUid: string): void {
    for (const r of RESOURCES) {
      if (!r.namespaced) continue;
      for (const o of this.store.list(r, ns)) {
        const refs = (meta(o).ownerReferences ?? []) as any[];
        if (refs.some((ref) => ref.uid === ownerUid)) {
          const uid = meta(o).uid as string;
          if (r === PODS) this.deletePod(ns, meta(o).name);
          else this.store.remove(r, ns, meta(o).name);
          this.collectGarbage(ns, uid);
        }
      }
    }
  }
}

export function podStatus(mode: PodMode, image: string, prev: any): JsonObject {
  const startTime = prev?.startTime ?? now();
  const base = { startTime, podIP: "10.0.0.10", hostIP: "192.168.0.10", qosClass: "Burstable" };
  const cs = (state: JsonObject, ready: boolean, extra: JsonObject = {}) => ({
    name: "mcp",
    image,
    imageID: "",
    ready,
    started: ready,
    restartCount: 0,
    state,
    ...extra,
  });
  if (mode === "crashloop") {
    return {
      ...base,
      phase: "Running",
      conditions: [{ type: "Ready", status: "False", reason: "ContainersNotReady" }],
      containerStatuses: [
        cs(
          { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s restarting failed container=mcp" } },
          false,
          {
            restartCount: 3,
            lastState: { terminated: { exitCode: 1, reason: "Error", startedAt: now(), finishedAt: now() } },
          },
        ),
      ],
    };
  }
  if (mode === "imagepull") {
    return {
      ...base,
      phase: "Pending",
      conditions: [{ type: "Ready", status: "False", reason: "ContainersNotReady" }],
      containerStatuses: [
        cs({ waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${image}"` } }, false),
      ],
    };
  }
  return {
    ...base,
    phase: "Running",
    conditions: [{ type: "Ready", status: "True" }],
    containerStatuses: [cs({ running: { startedAt: startTime } }, true)],
  };
}
