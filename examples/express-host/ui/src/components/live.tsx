import type { StreamState } from "../events.js";

const TEXT: Record<StreamState, string> = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting (polling meanwhile)",
  error: "unavailable",
};

/** Says whether the page follows /v1/events right now. */
export function LiveState(props: { state: StreamState; error?: string | undefined }) {
  return (
    <p class={`live live-${props.state}`} data-testid="live-state" aria-live="polite">
      Live updates: <span data-state={props.state}>{TEXT[props.state]}</span>
      {props.error && props.state !== "live" ? <span class="help"> ({props.error})</span> : null}
    </p>
  );
}
