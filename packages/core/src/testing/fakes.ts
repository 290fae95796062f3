export interface RecordedCall {
  method: string;
  args: unknown[];
  at: number;
}

/**
 * Wraps any plug-in so every method call is recorded (`calls`) and forwarded to `inner`.
 * `recording(memoryRuntime()).calls` shows what the fleet asked of its runtime.
 */
export function recording<T extends object>(
  inner: T,
): T & { calls: RecordedCall[]; callsTo(method: string): RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const proxy = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "calls") return calls;
      if (prop === "callsTo") return (m: string) => calls.filter((c) => c.method === m);
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push({ method: String(prop), args, at: Date.now() });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return proxy as T & { calls: RecordedCall[]; callsTo(method: string): RecordedCall[] };
}
