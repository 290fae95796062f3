/** The runtime key of a wire spec: its `type`, with `container` meaning `docker`. */
export function specTypeOf(jsonSpec: Record<string, unknown>): string {
  const t = jsonSpec.type;
  return t === "container" ? "docker" : typeof t === "string" ? t : "";
}
