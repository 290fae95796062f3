/**
 * An instance name from a config key or registry name: the instance name grammar
 * (`[A-Za-z0-9][A-Za-z0-9_.-]{0,127}`, no `__`). Other characters become `-`.
 */
export function sanitizeInstanceName(raw: string, fallback = "server"): string {
  const s = raw
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/_{2,}/g, "_")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 128)
    .replace(/[-_.]+$/, "");
  return s.length > 0 ? s : fallback;
}

/** Sanitized, made unique within `taken` by a `-2`, `-3`... suffix; the result is added to `taken`. */
export function uniqueInstanceName(raw: string, taken: Set<string>): string {
  const base = sanitizeInstanceName(raw);
  let name = base;
  for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${base.slice(0, 120)}-${n}`;
  taken.add(name.toLowerCase());
  return name;
}
