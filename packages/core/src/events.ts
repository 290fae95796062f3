import { randomUUID } from "node:crypto";
import type { InstanceStatus } from "./model/types.js";

export const EVENT_TYPES = [
  "MCPServerInstanceCreated",
  "MCPServerInstanceUpdated",
  "MCPServerInstanceDeleted",
  "MCPServerInstanceStatusChanged",
  "MCPServerRegistered",
  "MCPServerDeleted",
] as const;

export type FleetEventType = (typeof EVENT_TYPES)[number];

/** Event payload. Specs carry secret refs only, never values. */
export interface FleetEventData {
  instance_id?: string;
  server_spec_id?: string | null;
  name?: string;
  generation?: number;
  json_spec?: Record<string, unknown>;
  status?: InstanceStatus;
  previous_status?: InstanceStatus;
  status_reason?: string | null;
  [extra: string]: unknown;
}

/** A CloudEvents 1.0 JSON envelope. */
export interface FleetEvent {
  specversion: "1.0";
  id: string;
  source: string;
  type: FleetEventType;
  time: string;
  /** The instance id (or server id for server events). */
  subject: string;
  datacontenttype: "application/json";
  data: FleetEventData;
}

export const DEFAULT_EVENT_SOURCE = "mcpfleet";

export function createEvent(
  type: FleetEventType,
  subject: string,
  data: FleetEventData,
  options: { source?: string; id?: string; time?: string } = {},
): FleetEvent {
  return {
    specversion: "1.0",
    id: options.id ?? randomUUID(),
    source: options.source ?? DEFAULT_EVENT_SOURCE,
    type,
    time: options.time ?? new Date().toISOString(),
    subject,
    datacontenttype: "application/json",
    data,
  };
}

export function isFleetEventType(value: unknown): value is FleetEventType {
  return typeof value === "string" && (EVENT_TYPES as readonly string[]).includes(value);
}
