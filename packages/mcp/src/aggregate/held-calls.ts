import { randomUUID } from "node:crypto";

/** One server-to-client request a legacy instance made during a call held for a 2026-07-28 client. */
export interface HeldRequest {
  key: string;
  method: string;
  params: Record<string, unknown>;
}

type Step<T> = { done: true; value: T } | { done: false; request: HeldRequest };

interface Flow<T> {
  outcome: Promise<T>;
  next?: (step: Step<T>) => void;
  queue: HeldRequest[];
  /** The requests handed to the client and not answered yet. */
  answers: Map<string, { request: HeldRequest; resolve: (v: unknown) => void; reject: (e: Error) => void }>;
  timer?: NodeJS.Timeout;
}

/**
 * Calls to legacy (2025-era) instances made for 2026-07-28 clients, held open while the instance waits
 * for elicitation or sampling: the instance's request becomes an `input_required` round, the client's
 * retry answers it and waits for the call's next step. Held in this process (a retry reaching another
 * replica finds nothing and is refused), for at most `ttlMs`, at most `max` at a time.
 */
export class HeldCalls {
  private readonly flows = new Map<string, Flow<unknown>>();

  constructor(
    private readonly ttlMs = 600_000,
    private readonly max = 1000,
  ) {}

  /** Starts a call; `ask` is what the call's server-to-client requests go through. */
  start<T>(run: (ask: (method: string, params: Record<string, unknown>) => Promise<unknown>) => Promise<T>): string {
    if (this.flows.size >= this.max) throw new Error("too many calls waiting for client input");
    const id = randomUUID();
    const flow: Flow<T> = { outcome: Promise.resolve() as Promise<T>, queue: [], answers: new Map() };
    const ask = (method: string, params: Record<string, unknown>) =>
      new Promise<unknown>((resolve, reject) => {
        const request = { key: randomUUID(), method, params };
        flow.answers.set(request.key, { request, resolve, reject });
        if (flow.next) {
          const next = flow.next;
          flow.next = undefined;
          next({ done: false, request });
        } else flow.queue.push(request);
      });
    flow.outcome = run(ask);
    flow.outcome.catch(() => {});
    this.flows.set(id, flow as Flow<unknown>);
    this.touch(id);
    return id;
  }

  /** The call's next step: its result (the flow ends), or the next request the client must answer. */
  async step<T>(id: string): Promise<Step<T>> {
    const flow = this.flows.get(id) as Flow<T> | undefined;
    if (!flow) throw new Error("the held call is gone (expired, finished, or held by another replica)");
    const queued = flow.queue.shift();
    if (queued) return { done: false, request: queued };
    // a retry that left a request unanswered (no or another key) is asked it again, not left waiting
    const unanswered = flow.answers.values().next().value;
    if (unanswered) {
      this.touch(id);
      return { done: false, request: unanswered.request };
    }
    let step: Step<T>;
    try {
      step = await new Promise<Step<T>>((resolve, reject) => {
        flow.next = resolve;
        flow.outcome.then((value) => resolve({ done: true, value }), reject);
      });
    } catch (err) {
      this.end(id);
      throw err;
    } finally {
      flow.next = undefined;
    }
    if (step.done) this.end(id);
    else this.touch(id);
    return step;
  }

  /** Answers a request of a held call with what the client returned for it; false when none is pending. */
  answer(id: string, key: string, response: unknown): boolean {
    const pending = this.flows.get(id)?.answers.get(key);
    if (!pending) return false;
    this.flows.get(id)!.answers.delete(key);
    pending.resolve(response);
    return true;
  }

  private touch(id: string) {
    const flow = this.flows.get(id);
    if (!flow) return;
    if (flow.timer) clearTimeout(flow.timer);
    flow.timer = setTimeout(() => this.end(id, new Error("the client did not answer in time")), this.ttlMs);
    flow.timer.unref();
  }

  private end(id: string, err?: Error) {
    const flow = this.flows.get(id);
    if (!flow) return;
    this.flows.delete(id);
    if (flow.timer) clearTimeout(flow.timer);
    for (const a of flow.answers.values()) a.reject(err ?? new Error("the call ended"));
  }

  close(): void {
    for (const id of [...this.flows.keys()]) this.end(id, new Error("the gateway is closing"));
  }
}
