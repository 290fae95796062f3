import { FleetError } from "../errors.js";
import { adapterTag } from "./options.js";

/** `CLOSED`: `[mcpfleet/<adapter>] runtime is closed` (any call after `close()`). */
export function runtimeClosed(adapter: string): FleetError {
  return new FleetError("CLOSED", `${adapterTag(adapter)} runtime is closed`);
}

/** `NOT_FOUND` at `id`: `[mcpfleet/<adapter>] no instance <id>` (logs of an instance the runtime does not run). */
export function noInstance(adapter: string, instanceId: string): FleetError {
  return new FleetError("NOT_FOUND", `${adapterTag(adapter)} no instance ${instanceId}`, {
    path: "id",
    isRetryable: false,
  });
}
