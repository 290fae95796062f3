/** Label selectors as the API server parses them: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`. */
export type Requirement =
  | { key: string; op: "eq" | "neq"; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "notexists" };

export class SelectorError extends Error {}

function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (cur.trim() || out.length) out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x.length > 0);
}

export function parseSelector(s: string | null | undefined): Requirement[] {
  if (!s) return [];
  return splitTop(s).map((part) => {
    let m = /^([A-Za-z0-9./_-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
    if (m) {
      const values = m[3]!
        .split(",")
        .map((v) => v.trim())
        .filter((v) => v.length > 0);
      return { key: m[1]!, op: m[2] as "in" | "notin", values };
    }
    m = /^([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)$/.exec(part);
    if (m) return { key: m[1]!, op: m[2] === "!=" ? "neq" : "eq", value: m[3]! };
    m = /^(!?)([A-Za-z0-9./_-]+)$/.exec(part);
    if (m) return { key: m[2]!, op: m[1] ? "notexists" : "exists" };
    throw new SelectorError(`unable to parse requirement: ${part}`);
  });
}

export function matches(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case "eq":
        return has && v === r.value;
      case "neq":
        return !has || v !== r.value;
      case "in":
        return has && r.values.includes(v as string);
      case "notin":
        return !has || !r.values.includes(v as string);
      case "exists":
        return has;
      case "notexists":
        return !has;
    }
    return false;
  });
}
