import type { FleetEvent } from "@mcpfleet/core";
import { decodeFleetEvent } from "@mcpfleet/core/adapter";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeEvent(event: FleetEvent): Uint8Array {
  return encoder.encode(JSON.stringify(event));
}

/** Decodes a message payload; throws SPEC_INVALID when it is not a FleetEvent. */
export function decodeEvent(data: Uint8Array): FleetEvent {
  return decodeFleetEvent(decoder.decode(data), "message", "data");
}
