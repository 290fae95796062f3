import { byPlural, RESOURCES, type ResourceInfo } from "./resources.js";

export interface Route {
  resource: ResourceInfo;
  namespace?: string;
  name?: string;
  sub?: string;
}

/** Discovery documents (`/version`, `/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`). */
export function discovery(path: string): unknown {
  if (path === "/version")
    return { major: "1", minor: "31", gitVersion: "v1.31.0-mcpfleet-fake", platform: "linux/amd64" };
  if (path === "/api") return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] };
  if (path === "/apis") {
    const groups = [...new Set(RESOURCES.filter((r) => r.group).map((r) => r.group))];
    return {
      kind: "APIGroupList",
      apiVersion: "v1",
      groups: groups.map((g) => ({
        name: g,
        versions: [{ groupVersion: `${g}/v1`, version: "v1" }],
        preferredVersion: { groupVersion: `${g}/v1`, version: "v1" },
      })),
    };
  }
  const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/?$/.exec(path);
  if (!m) return undefined;
  const group = m[2] ?? "";
  const version = m[1] ?? m[3] ?? "";
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources: rs.map((r) => ({
      name: r.plural,
      singularName: r.kind.toLowerCase(),
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: ["create", "delete", "get", "list", "patch", "watch"],
    })),
  };
}

export function route(path: string): Route | undefined {
  const parts = path
    .split("/")
    .filter((p) => p.length > 0)
    .map(decodeURIComponent);
  let group = "";
  let version: string;
  let rest: string[];
  if (parts[0] === "api") {
    version = parts[1] ?? "";
    rest = parts.slice(2);
  } else if (parts[0] === "apis") {
    group = parts[1] ?? "";
    version = parts[2] ?? "";
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const resource = byPlural(group, version, rest[0] ?? "");
  if (!resource) return undefined;
  if (resource.namespaced === false && namespace !== undefined) return undefined;
  return { resource, namespace, name: rest[1], sub: rest[2] };
}
