import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, type Instance, openStream } from "./api.js";
import { readSse } from "./sse.js";

/** A fleet event (CloudEvents envelope) as `GET /v1/events` sends it. */
export interface FleetEvent {
  id: string;
  type: string;
  subject: string;
  time: string;
  data: {
    instance_id?: string;
    name?: string;
    status?: string;
    previous_status?: string;
    status_reason?: string | null;
    [k: string]: unknown;
  };
}

export type StreamState = "connecting" | "live" | "reconnecting" | "error";

export interface EventHandlers {
  onEvent(event: FleetEvent): void;
  /** The stream said the position is too old (`event: reset`): reload what the events would have updated. */
  onReset(): void;
}

/**
 * Follows `GET /v1/events` (optionally for one instance) and reconnects with `Last-Event-ID` after a drop,
 * so no event in between is lost; backs off up to 10 s. 401/403 stop it (the key is not good for this).
 */
export function useFleetEvents(
  instance: string | undefined,
  handlers: EventHandlers,
): {
  state: StreamState;
  error?: string;
} {
  const [state, setState] = useState<StreamState>("connecting");
  const [error, setError] = useState<string>();
  const ref = useRef(handlers);
  ref.current = handlers;
  useEffect(() => {
    const controller = new AbortController();
    let lastId: string | undefined;
    let attempt = 0;
    const run = async () => {
      while (!controller.signal.aborted) {
        try {
          const query = instance ? `?instance=${encodeURIComponent(instance)}` : "";
          const body = await openStream(
            `/v1/events${query}`,
            controller.signal,
            lastId ? { "last-event-id": lastId } : {},
          );
          setState("live");
          setError(undefined);
          attempt = 0;
          for await (const m of readSse(body)) {
            if (m.id) lastId = m.id;
            if (m.event === "reset") {
              ref.current.onReset();
              continue;
            }
            if (!m.data) continue;
            try {
              ref.current.onEvent(JSON.parse(m.data) as FleetEvent);
            } catch {
              // not JSON: not an event this page understands
            }
          }
        } catch (err) {
          if (controller.signal.aborted) return;
          if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
            setState("error");
            setError(err.message);
            return;
          }
          setError(err instanceof Error ? err.message : String(err));
        }
        if (controller.signal.aborted) return;
        setState("reconnecting");
        attempt++;
        await new Promise((r) => setTimeout(r, Math.min(10_000, 250 * 2 ** attempt)));
      }
    };
    void run();
    return () => controller.abort();
  }, [instance]);
  return { state, ...(error ? { error } : {}) };
}

/**
 * Applies one fleet event to the list; returns the id to re-read (for restart counts and new instances).
 * `MCPServerInstanceDeleted` is the delete request (the instance goes on through deleting); it leaves the
 * list when its status becomes `deleted`.
 */
export function applyEvent(list: Instance[], e: FleetEvent): { list: Instance[]; reload?: string } {
  const id = e.data.instance_id ?? e.subject;
  if (!e.type.startsWith("MCPServerInstance")) return { list };
  if (e.data.status === "deleted") return { list: list.filter((i) => i.id !== id) };
  const next = list.map((i) =>
    i.id === id && e.data.status
      ? { ...i, status: e.data.status, status_reason: e.data.status_reason ?? null, updated_at: e.time }
      : i,
  );
  return { list: next, reload: id };
}
