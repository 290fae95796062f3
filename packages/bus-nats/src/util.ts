import { errorMessage } from "@mcpfleet/core/adapter";

export const ns = (ms: number): number => Math.round(ms * 1_000_000);

/** A consumer name from a group: NATS names may not hold `.`, `*`, `>`, whitespace or path separators. */
export function durableName(group: string): string {
  return group.replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.charCodeAt(0).toString(16)}_`);
}

export function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 10059 || code === 10014 || /not found/i.test(errorMessage(err));
}
