import { FleetError } from "@mcpfleet/core";
import { toK8sError } from "./api-errors.js";
import { callOptions, type K8sClients } from "./client.js";
import type { KubeObject } from "./manifests.js";
import { FIELD_MANAGER } from "./names.js";
import { ADAPTER } from "./options.js";

/**
 * Server-side apply of one object (field manager `mcpfleet`, `force: true`): creates it when missing,
 * changes nothing when it already matches, and takes back fields another manager changed.
 */
export async function applyObject(
  c: K8sClients,
  obj: KubeObject,
  signal: AbortSignal | undefined,
): Promise<{ uid?: string }> {
  const name = obj.metadata.name;
  const namespace = obj.metadata.namespace;
  const params = { name, namespace, body: obj, fieldManager: FIELD_MANAGER, force: true };
  const o = callOptions(signal, true);
  try {
    switch (obj.kind) {
      case "Deployment":
        return (await c.apps.patchNamespacedDeployment(params, o)).metadata ?? {};
      case "Secret":
        return (await c.core.patchNamespacedSecret(params, o)).metadata ?? {};
      case "Service":
        return (await c.core.patchNamespacedService(params, o)).metadata ?? {};
      case "Ingress":
        return (await c.net.patchNamespacedIngress(params, o)).metadata ?? {};
      case "NetworkPolicy":
        return (await c.net.patchNamespacedNetworkPolicy(params, o)).metadata ?? {};
      default:
        throw new FleetError("INTERNAL", `${ADAPTER} unknown kind ${obj.kind}`);
    }
  } catch (err) {
    throw toK8sError(err, `apply ${obj.kind} ${name}`, { secret: obj.kind === "Secret" });
  }
}
