const REF = /^secret_ref:[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+$/;

/** Every secret reference in a spec, with where it sits (`environment.API_KEY`, `authentication.token`). */
export function secretRefs(spec: unknown, path = ""): Array<{ path: string; ref: string }> {
  if (typeof spec === "string") return REF.test(spec) ? [{ path, ref: spec }] : [];
  if (Array.isArray(spec)) return spec.flatMap((v, i) => secretRefs(v, `${path}[${i}]`));
  if (spec && typeof spec === "object")
    return Object.entries(spec).flatMap(([k, v]) => secretRefs(v, path ? `${path}.${k}` : k));
  return [];
}
