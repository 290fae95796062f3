/** Where commands write: stdout for results, stderr for progress and errors (injectable in-process). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal (tables and progress) or a pipe (plain lines). */
  isTty: boolean;
}

export const processIo = (): Io => ({
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  isTty: process.stdout.isTTY === true,
});

const cell = (v: unknown): string => {
  if (v === undefined || v === null || v === "") return "-";
  const s = typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);
  return s.replace(/\s+/g, " ");
};

/** A left-aligned text table with upper-case headers; cells are single-line. */
export function table(rows: Array<Record<string, unknown>>, columns: Array<[header: string, key: string]>): string {
  const cells = rows.map((r) => columns.map(([, k]) => cell(r[k])));
  const widths = columns.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return `${[line(columns.map(([h]) => h.toUpperCase())), ...cells.map(line)].join("\n")}\n`;
}

export const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
