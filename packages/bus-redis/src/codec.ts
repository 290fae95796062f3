import { FleetError, type FleetEvent } from "@mcpfleet/core";
import { decodeFleetEvent } from "@mcpfleet/core/adapter";

/** Field name of the event JSON in a stream entry. */
export const EVENT_FIELD = "e";

export function encodeEvent(event: FleetEvent): string {
  return JSON.stringify(event);
}

/** Reads the event from a stream entry's flat field list; throws SPEC_INVALID when it is not a FleetEvent. */
export function decodeEntry(fields: string[]): FleetEvent {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === EVENT_FIELD) return decodeEvent(fields[i + 1] as string);
  }
  throw new FleetError("SPEC_INVALID", "stream entry has no event field", { path: EVENT_FIELD, isRetryable: false });
}

export function decodeEvent(json: string): FleetEvent {
  return decodeFleetEvent(json, "stream entry", EVENT_FIELD);
}
