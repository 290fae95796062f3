/** The resources the fake serves. */
export interface ResourceInfo {
  plural: string;
  group: string; // "" for core
  version: string;
  kind: string;
  namespaced: boolean;
  /** Generation is bumped on spec changes. */
}

export const RESOURCES: ResourceInfo[] = [
  { plural: "deployments", group: "apps", version: "v1", kind: "Deployment", namespaced: true },
  { plural: "pods", group: "", version: "v1", kind: "Pod", namespaced: true },
  { plural: "services", group: "", version: "v1", kind: "Service", namespaced: true },
  { plural: "secrets", group: "", version: "v1", kind: "Secret", namespaced: true },
  { plural: "namespaces", group: "", version: "v1", kind: "Namespace", namespaced: false },
  { plural: "ingresses", group: "networking.k8s.io", version: "v1", kind: "Ingress", namespaced: true },
  { plural: "networkpolicies", group: "networking.k8s.io", version: "v1", kind: "NetworkPolicy", namespaced: true },
];

export const apiVersionOf = (r: ResourceInfo) => (r.group ? `${r.group}/${r.version}` : r.version);

export function byPlural(group: string, version: string, plural: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export function byKind(kind: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.kind === kind);
}
