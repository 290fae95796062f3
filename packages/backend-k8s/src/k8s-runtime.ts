import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import {
  type CallOptions,
  type DeployRequest,
  FleetError,
  type LogLine,
  type LogOptions,
  type ObservedInstance,
  type RuntimeBackend,
  type RuntimeEvent,
} from "@mcpfleet/core";
import { adapterLogger, backoffDelay, noInstance, runtimeClosed, sleep, throwIfAborted } from "@mcpfleet/core/adapter";
import { isNotFound, toK8sError } from "./api-errors.js";
import { callOptions, type K8sClients, makeClients } from "./client.js";
import { loadKubeConfig } from "./kubeconfig.js";
import { podLogs } from "./logs.js";
import { buildManifests, checkSpec } from "./manifests.js";
import { instanceSelector, LABEL_INSTANCE_ID, MANAGED_BY, MANAGER, managedSelector, objectName } from "./names.js";
import { applyObject } from "./objects.js";
import { observe } from "./observe.js";
import { ADAPTER, type KubernetesRuntimeOptions, parseOptions } from "./options.js";
import { watchDeployments } from "./watch.js";

export interface KubernetesRuntime extends RuntimeBackend {
  /** Namespace the runtime writes to (resolved lazily from the kubeconfig when not given). */
  namespace(): string;
  /** Informer on the managed Deployments: `started`, `changed`, `removed`. Ends when the signal aborts. */
  watch(options?: CallOptions): AsyncIterable<RuntimeEvent>;
}

/**
 * Instances as Kubernetes workloads: per instance a Deployment, a Secret owned by it, a ClusterIP
 * Service and optionally an Ingress and a NetworkPolicy, all written with server-side apply.
 */
export function kubernetesRuntime(options: KubernetesRuntimeOptions = {}): KubernetesRuntime {
  const opts = parseOptions(options);
  const logger = adapterLogger(options.logger, { adapter: "backend-k8s" });
  let clients: K8sClients | undefined;
  let ns: string | undefined = opts.namespace;
  let closed = false;
  const watchers = new Set<() => void>();

  const connect = (): K8sClients => {
    if (closed) throw runtimeClosed("backend-k8s");
    if (!clients) {
      const loaded = loadKubeConfig(
        {
          kubeConfig: options.kubeConfig,
          env: opts.env,
          serviceAccountDir: opts.serviceAccountDir,
          context: opts.context,
        },
        logger,
      );
      clients = makeClients(loaded.kc);
      ns ??= loaded.namespace ?? "default";
      logger.debug({ source: loaded.source, namespace: ns }, "kubernetes client ready");
    }
    return clients;
  };
  const namespace = () => {
    connect();
    return ns as string;
  };

  const endpointOf = (instanceId: string, port: number, transport: "streamable-http" | "sse") => {
    const service = objectName(instanceId);
    if (options.endpointResolver) {
      return options.endpointResolver({ instanceId, namespace: namespace(), service, port, transport });
    }
    return `http://${service}.${namespace()}.svc.cluster.local:${port}/${transport === "sse" ? "sse" : "mcp"}`;
  };

  const ownedPods = async (c: K8sClients, selector: string, signal?: AbortSignal): Promise<V1Pod[]> => {
    try {
      const list = await c.core.listNamespacedPod(
        { namespace: namespace(), labelSelector: selector },
        callOptions(signal),
      );
      return list.items;
    } catch (err) {
      throw toK8sError(err, "list pods");
    }
  };

  const readDeployment = async (c: K8sClients, instanceId: string, signal?: AbortSignal) => {
    try {
      const dep = await c.apps.readNamespacedDeployment(
        { name: objectName(instanceId), namespace: namespace() },
        callOptions(signal),
      );
      return dep.metadata?.labels?.[MANAGED_BY] === MANAGER ? dep : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toK8sError(err, `read deployment for ${instanceId}`);
    }
  };

  const inspect = async (instanceId: string, call: CallOptions = {}): Promise<ObservedInstance | undefined> => {
    throwIfAborted(call.signal);
    const c = connect();
    const dep = await readDeployment(c, instanceId, call.signal);
    if (!dep) return undefined;
    const pods = await ownedPods(c, instanceSelector(instanceId), call.signal);
    return observe(dep, pods, { endpoint: endpointOf });
  };

  const removeObject = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      if (!isNotFound(err)) throw toK8sError(err, `delete ${what}`);
    }
  };

  const exists = async (read: () => Promise<unknown>, what: string): Promise<boolean> => {
    try {
      await read();
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw toK8sError(err, `read ${what}`);
    }
  };

  const runtime: KubernetesRuntime = {
    specificationVersion: "v1",
    name: opts.name ?? "kubernetes",
    types: ["docker"],
    capabilities: { shared: true, logs: true, watch: true, stdio: false, replicas: true },
    namespace,

    async deploy(request: DeployRequest, call: CallOptions = {}): Promise<ObservedInstance> {
      throwIfAborted(call.signal);
      checkSpec(request);
      const c = connect();
      const m = buildManifests(request, namespace(), opts);
      const log = logger.child({ instanceId: request.instance.id, name: m.name });
      // Deployment first: the Secret needs its uid for the owner reference.
      const dep = await applyObject(c, m.deployment, call.signal);
      if (!dep.uid) throw new FleetError("DEPLOY_FAILED", `${ADAPTER} deployment ${m.name} has no uid`);
      m.secret.metadata.ownerReferences = [
        {
          apiVersion: "apps/v1",
          kind: "Deployment",
          name: m.name,
          uid: dep.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ];
      await applyObject(c, m.secret, call.signal);
      await applyObject(c, m.service, call.signal);
      if (m.ingress) await applyObject(c, m.ingress, call.signal);
      if (m.networkPolicy) await applyObject(c, m.networkPolicy, call.signal);
      log.info({ specHash: request.instance.specHash, namespace: namespace() }, "applied");
      const observed = await inspect(request.instance.id, call);
      return (
        observed ?? {
          instanceId: request.instance.id,
          specHash: request.instance.specHash,
          generation: request.instance.generation,
          phase: "pending",
        }
      );
    },

    async remove(instanceId: string, call: CallOptions = {}): Promise<void> {
      throwIfAborted(call.signal);
      const c = connect();
      const name = objectName(instanceId);
      const namespace = runtime.namespace();
      const o = callOptions(call.signal);
      const ref = { name, namespace };
      const del = { ...ref, propagationPolicy: "Foreground" };
      // Foreground: each object stays (with a deletionTimestamp) until its dependents are gone.
      const kinds: { what: string; del: () => Promise<unknown>; read: () => Promise<unknown> }[] = [
        {
          what: "deployment",
          del: () => c.apps.deleteNamespacedDeployment(del, o),
          read: () => c.apps.readNamespacedDeployment(ref, o),
        },
        {
          what: "service",
          del: () => c.core.deleteNamespacedService(del, o),
          read: () => c.core.readNamespacedService(ref, o),
        },
      ];
      if (opts.ingress) {
        kinds.push({
          what: "ingress",
          del: () => c.net.deleteNamespacedIngress(del, o),
          read: () => c.net.readNamespacedIngress(ref, o),
        });
      }
      if (opts.networkPolicy) {
        kinds.push({
          what: "networkpolicy",
          del: () => c.net.deleteNamespacedNetworkPolicy(del, o),
          read: () => c.net.readNamespacedNetworkPolicy(ref, o),
        });
      }
      // Only touch a Deployment this runtime manages (same deterministic name, managed-by label).
      const existing = await readDeployment(c, instanceId, call.signal);
      const pending = existing ? kinds : kinds.slice(1);
      for (const k of pending) await removeObject(`${k.what} ${name}`, k.del);
      // Collected through its owner reference; deleted explicitly too so remove stays idempotent.
      await removeObject(`secret ${name}`, () => c.core.deleteNamespacedSecret(ref, o));
      const deadline = Date.now() + (opts.removeTimeoutMs ?? 60_000);
      for (const k of pending) {
        for (let attempt = 0; await exists(k.read, `${k.what} ${name}`); attempt++) {
          if (Date.now() > deadline) {
            throw new FleetError("TIMEOUT", `${ADAPTER} ${k.what} ${name} still terminating`, { isRetryable: true });
          }
          await sleep(backoffDelay(attempt, { baseMs: 20, maxMs: 500, jitter: "none" }), call.signal);
        }
      }
      if (existing) logger.info({ instanceId, name }, "removed");
    },

    inspect,

    async list(call: CallOptions = {}): Promise<ObservedInstance[]> {
      throwIfAborted(call.signal);
      const c = connect();
      let deps: V1Deployment[];
      try {
        deps = (
          await c.apps.listNamespacedDeployment(
            { namespace: namespace(), labelSelector: managedSelector },
            callOptions(call.signal),
          )
        ).items;
      } catch (err) {
        throw toK8sError(err, "list deployments");
      }
      const pods = await ownedPods(c, managedSelector, call.signal);
      return deps
        .filter((d) => !d.metadata?.deletionTimestamp)
        .map((d) => {
          const id = d.metadata?.labels?.[LABEL_INSTANCE_ID];
          return observe(
            d,
            pods.filter((p) => p.metadata?.labels?.[LABEL_INSTANCE_ID] === id),
            { endpoint: endpointOf },
          );
        })
        .filter((o) => o.instanceId !== "");
    },

    logs(instanceId: string, logOpts: LogOptions = {}): AsyncIterable<LogLine> {
      return (async function* () {
        throwIfAborted(logOpts.signal);
        const c = connect();
        const dep = await readDeployment(c, instanceId, logOpts.signal);
        if (!dep) throw noInstance("backend-k8s", instanceId);
        const pods = (await ownedPods(c, instanceSelector(instanceId), logOpts.signal))
          .filter((p) => !p.metadata?.deletionTimestamp)
          .sort((a, b) => {
            const rank = (p: V1Pod) => (p.status?.phase === "Running" ? 0 : 1);
            return rank(a) - rank(b) || String(a.metadata?.name).localeCompare(String(b.metadata?.name));
          });
        const pod = pods[0]?.metadata?.name;
        if (!pod) return;
        yield* podLogs(c.kc, namespace(), pod, logOpts);
      })();
    },

    watch(call: CallOptions = {}): AsyncIterable<RuntimeEvent> {
      const c = connect();
      return watchDeployments(c, c.kc, namespace(), {
        signal: call.signal,
        retryMs: opts.watchRetryMs ?? 1000,
        logger,
        onClose: (stop) => {
          watchers.add(stop);
          return () => watchers.delete(stop);
        },
      });
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const stop of [...watchers]) stop();
      clients = undefined;
    },

    [Symbol.asyncDispose]() {
      return runtime.close();
    },
  };
  return runtime;
}
