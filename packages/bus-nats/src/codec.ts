import { FleetError, type FleetEvent, isFleetEventType } from "@mcpfleet/core";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeEvent(event: FleetEvent): Uint8Array {
  return encoder.encode(JSON.stringify(event));
}

/** Decodes a message payload; throws SPEC_INVALID when it is not a FleetEvent. */
export function decodeEvent(data: Uint8Array): FleetEvent {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch (err) {
    throw new FleetError("SPEC_INVALID", "message is not JSON", { path: "data", cause: err });
  }
  const e = value as Partial<FleetEvent> | null;
  if (
    !e ||
    typeof e !== "object" ||
    typeof e.id !== "string" ||
    !isFleetEventType(e.type) ||
    typeof e.subject !== "string"
  ) {
    throw new FleetError("SPEC_INVALID", "message is not a CloudEvents FleetEvent", { path: "data" });
  }
  return e as FleetEvent;
}
