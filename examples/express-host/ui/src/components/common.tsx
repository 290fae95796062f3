import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { ApiError } from "../api.js";

/** An error announced to assistive technology; lists a problem's issues with their paths. */
export function ErrorBox(props: { message?: string; error?: unknown }) {
  const err = props.error;
  const message = props.message ?? (err instanceof Error ? err.message : err === undefined ? "" : String(err));
  if (!message) return null;
  const issues = err instanceof ApiError ? err.issues : [];
  const code = err instanceof ApiError ? err.code : undefined;
  return (
    <div class="error" role="alert">
      <p>
        {code ? <code>{code}</code> : null} {message}
      </p>
      {issues.length > 0 ? (
        <ul>
          {issues.map((i) => (
            <li key={`${i.path}:${i.message}`}>
              <code>{i.path || "(body)"}</code>: {i.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function StatusBadge(props: { status: string }) {
  return (
    <span class={`status status-${props.status}`} data-status={props.status}>
      {props.status}
    </span>
  );
}

/**
 * A page's h1. Focus moves to it on navigation (the shell does that); when a page swaps its heading (loading, then
 * loaded) focus would fall back to the body, so a new heading takes it when nothing holds it.
 */
export function PageHeading(props: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (!document.activeElement || document.activeElement === document.body) ref.current?.focus();
  }, []);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {props.children}
    </h1>
  );
}

export const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
