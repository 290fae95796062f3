import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { byKind } from "./fake-apiserver/resources.js";
import { validateObject } from "./fake-apiserver/schema.js";

const DIR = fileURLToPath(new URL("../../../deploy/k8s/", import.meta.url));
const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  Deployment,
  Service,
  ConfigMap,
  ServiceAccount,
  Role,
  RoleBinding,
};
const docs: any[] = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .flatMap((f) => parseAllDocuments(readFileSync(join(DIR, f), "utf8")).map((d) => d.toJS()))
  .filter(Boolean);
const find = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata?.name === name);

describe("deploy/k8s manifests (schema-validated; not applied to a real cluster)", () => {
  it("every object passes the Kubernetes schema, and the fake API server's checks where it serves the kind", () => {
    expect(docs.length).toBeGreaterThanOrEqual(7);
    for (const d of docs) {
      const Model = MODELS[d.kind];
      expect(Model, `no schema for kind ${d.kind}`).toBeDefined();
      expect(() => new Model!(d).validate(), `${d.kind}/${d.metadata?.name}`).not.toThrow();
      const info = byKind(d.kind);
      if (info) expect(() => validateObject(info, d), `${d.kind}/${d.metadata?.name}`).not.toThrow();
    }
  });

  it("API: 2 replicas of role api behind the Service; workers use the RBAC service account; refs resolve", () => {
    const api = find("Deployment", "mcpfleet-api");
    expect(api.spec.replicas).toBe(2);
    const apiEnv = api.spec.template.spec.containers[0].env;
    expect(apiEnv).toContainEqual({ name: "FLEET_ROLE", value: "api" });
    const svc = find("Service", "mcpfleet-api");
    expect(api.spec.template.metadata.labels).toMatchObject(svc.spec.selector);
    const worker = find("Deployment", "mcpfleet-worker");
    const sa = worker.spec.template.spec.serviceAccountName;
    expect(find("ServiceAccount", sa)).toBeDefined();
    const binding = find("RoleBinding", "mcpfleet-runtime");
    expect(binding.subjects).toContainEqual({ kind: "ServiceAccount", name: sa, namespace: "mcpfleet" });
    const role = find("Role", binding.roleRef.name);
    expect(role.metadata.namespace).toBe(find("ConfigMap", "mcpfleet-config").data.K8S_NAMESPACE);
    const granted = (group: string, resource: string, verb: string) =>
      role.rules.some(
        (r: any) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
      );
    for (const [g, r] of [
      ["apps", "deployments"],
      ["", "services"],
      ["", "secrets"],
      ["networking.k8s.io", "networkpolicies"],
    ])
      for (const v of ["get", "list", "watch", "create", "patch", "delete"])
        expect(granted(g!, r!, v), `${r} ${v}`).toBe(true);
    for (const dep of [api, worker]) {
      const c = dep.spec.template.spec.containers[0];
      expect(c.envFrom).toContainEqual({ configMapRef: { name: "mcpfleet-config" } });
      expect(c.envFrom).toContainEqual({ secretRef: { name: "mcpfleet-secrets" } });
      expect(c.readinessProbe.httpGet.path).toBe("/ready");
    }
    expect(find("ConfigMap", "mcpfleet-config").data).toMatchObject({
      FLEET_STORE: "postgres",
      FLEET_SECRETS: "postgres",
    });
  });
});
