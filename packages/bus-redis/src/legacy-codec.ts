import { createEvent, FleetError, type FleetEvent, type FleetEventData, type FleetIssue } from "@mcpfleet/core";

/** Event types the original system published on Redis pub/sub (the channel is the event name). */
export const LEGACY_EVENT_TYPES = [
  "MCPServerInstanceCreated",
  "MCPServerInstanceDeleted",
  "MCPServerInstanceStatusChanged",
] as const;
export type LegacyEventType = (typeof LEGACY_EVENT_TYPES)[number];

export const LEGACY_SOURCE = "legacy-redis";

const invalid = (issues: FleetIssue[]) =>
  new FleetError(
    "SPEC_INVALID",
    `invalid legacy event: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`,
    {
      path: issues[0]?.path,
      issues,
      isRetryable: false,
    },
  );

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Decodes one message of the original system's pub/sub channels: the JSON of `{ data, headers }`
 * whose `data` is itself a JSON string `{ event_id, timestamp, event_type, data }`. Returns a
 * CloudEvents FleetEvent (id = event_id, subject = instance_id, source `legacy-redis`). With
 * `channel`, the event type must match it. Throws SPEC_INVALID with the path of every problem.
 */
export function decodeLegacyEvent(message: string | Buffer | Record<string, unknown>, channel?: string): FleetEvent {
  let outer: unknown = message;
  if (typeof message === "string" || Buffer.isBuffer(message)) {
    try {
      outer = JSON.parse(message.toString());
    } catch {
      throw invalid([{ path: "", message: "message is not JSON" }]);
    }
  }
  if (!isObject(outer)) throw invalid([{ path: "", message: "must be an object with a data field" }]);
  let inner: unknown = outer.data;
  if (typeof inner === "string") {
    try {
      inner = JSON.parse(inner);
    } catch {
      throw invalid([{ path: "data", message: "is not a JSON string" }]);
    }
  }
  if (!isObject(inner)) throw invalid([{ path: "data", message: "must be a JSON object (or a JSON string of one)" }]);
  const issues: FleetIssue[] = [];
  const type = inner.event_type;
  if (typeof type !== "string" || !(LEGACY_EVENT_TYPES as readonly string[]).includes(type)) {
    issues.push({ path: "data.event_type", message: `must be one of ${LEGACY_EVENT_TYPES.join(", ")}` });
  } else if (channel !== undefined && channel !== type && !channel.endsWith(type)) {
    issues.push({ path: "data.event_type", message: `does not match the channel ${channel}` });
  }
  if (typeof inner.event_id !== "string" || inner.event_id.length === 0) {
    issues.push({ path: "data.event_id", message: "must be a non-empty string" });
  }
  const payload = inner.data;
  if (!isObject(payload)) issues.push({ path: "data.data", message: "must be an object" });
  else if (typeof payload.instance_id !== "string" || payload.instance_id.length === 0) {
    issues.push({ path: "data.data.instance_id", message: "must be a non-empty string" });
  }
  if (isObject(payload) && type === "MCPServerInstanceCreated") {
    if (typeof payload.name !== "string" || payload.name.length === 0) {
      issues.push({ path: "data.data.name", message: "must be a non-empty string" });
    }
    if (!isObject(payload.json_spec)) issues.push({ path: "data.data.json_spec", message: "must be an object" });
  }
  const seconds = Number(inner.timestamp);
  if (inner.timestamp !== undefined && !Number.isFinite(seconds)) {
    issues.push({ path: "data.timestamp", message: "must be seconds since the epoch" });
  }
  if (issues.length > 0) throw invalid(issues);
  const data = payload as FleetEventData & { instance_id: string };
  const time = inner.timestamp === undefined ? new Date() : new Date(Math.round(seconds * 1000));
  return createEvent(
    type as LegacyEventType,
    data.instance_id,
    { ...data },
    {
      id: inner.event_id as string,
      source: LEGACY_SOURCE,
      time: time.toISOString(),
    },
  );
}

/** Encodes a FleetEvent the way the original system published it (for the status channel). */
export function encodeLegacyEvent(event: FleetEvent, data: Record<string, unknown> = event.data): string {
  const inner = {
    event_id: event.id,
    timestamp: (Date.parse(event.time) / 1000).toFixed(6),
    event_type: event.type,
    data,
  };
  return JSON.stringify({ data: JSON.stringify(inner), headers: {} });
}
