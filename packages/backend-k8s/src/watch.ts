import { type KubeConfig, makeInformer, type V1Deployment } from "@kubernetes/client-node";
import type { Logger, RuntimeEvent } from "@mcpfleet/core";
import type { K8sClients } from "./client.js";
import { ANN_INSTANCE_ID, managedSelector } from "./names.js";

/** Minimal push queue (one consumer). */
class Queue<T> {
  private items: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private ended = false;
  push(item: T) {
    if (this.ended) return;
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w({ value: item, done: false });
    else this.items.push(item);
  }
  end() {
    this.ended = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.({ value: undefined as never, done: true });
  }
  next(): Promise<IteratorResult<T>> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.ended) return Promise.resolve({ value: undefined as never, done: true });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}

/**
 * Deployment events carry no pod states, so updates are reported as `changed` and the reconciler
 * inspects; `started`/`removed` mark the object appearing and disappearing.
 */
function kindOf(verb: "add" | "update" | "delete"): RuntimeEvent["kind"] {
  return verb === "delete" ? "removed" : verb === "add" ? "started" : "changed";
}

/**
 * Runtime events from an informer (list + watch with resourceVersion, relisting on 410) on the
 * Deployments this runtime manages. The informer restarts after errors until the signal aborts.
 */
export function watchDeployments(
  clients: K8sClients,
  kc: KubeConfig,
  namespace: string,
  opts: { signal?: AbortSignal; retryMs: number; logger: Logger; onClose: (stop: () => void) => () => void },
): AsyncIterable<RuntimeEvent> {
  const queue = new Queue<RuntimeEvent>();
  const path = `/apis/apps/v1/namespaces/${namespace}/deployments`;
  const informer = makeInformer<V1Deployment>(
    kc,
    path,
    () => clients.apps.listNamespacedDeployment({ namespace, labelSelector: managedSelector }),
    managedSelector,
  );
  let stopped = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const emit = (verb: "add" | "update" | "delete") => (dep: V1Deployment) => {
    const instanceId = dep.metadata?.annotations?.[ANN_INSTANCE_ID];
    if (!instanceId) return;
    queue.push({ instanceId, kind: kindOf(verb), at: new Date().toISOString() });
  };
  informer.on("add", emit("add"));
  informer.on("update", emit("update"));
  informer.on("delete", emit("delete"));
  const start = () => {
    if (stopped) return;
    informer.start().catch((err) => restart(err));
  };
  const restart = (err: unknown) => {
    if (stopped) return;
    opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "deployment watch failed; restarting");
    clearTimeout(retry);
    retry = setTimeout(start, opts.retryMs);
  };
  informer.on("error", restart);
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(retry);
    void informer.stop();
    queue.end();
    unregister();
  };
  const unregister = opts.onClose(stop);
  if (opts.signal?.aborted) stop();
  else {
    opts.signal?.addEventListener("abort", stop, { once: true });
    start();
  }
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => queue.next(),
      return: async () => {
        stop();
        return { value: undefined as never, done: true };
      },
    }),
  };
}
