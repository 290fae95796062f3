import { FleetError } from "@mcpfleet/core";

/** What went wrong in one Infisical call, from an @infisical/sdk error or our own fetch. */
export interface Failure {
  /** HTTP status; undefined for network failures and timeouts. */
  status: number | undefined;
  /** Infisical's `message`, shortened (never a secret value: Infisical does not echo values). */
  message: string;
}

/** A failure from a request this package makes itself with fetch. */
export class HttpFailure extends Error {
  constructor(readonly failure: Failure) {
    super(`HTTP ${failure.status ?? "network"} ${failure.message}`);
    this.name = "HttpFailure";
  }
}

/** Reads the status and server message out of @infisical/sdk errors (which only keep them in the message text). */
export function failureOf(err: unknown): Failure {
  if (err instanceof HttpFailure) return err.failure;
  const text = err instanceof Error ? err.message : String(err);
  const tagged = /\[StatusCode=(\d{3})\]\s*(.*)$/s.exec(text);
  if (tagged) return { status: Number(tagged[1]), message: clean(tagged[2] ?? "") };
  const plain = /^Request failed with status (\d{3})/.exec(text);
  if (plain) return { status: Number(plain[1]), message: "" };
  const cause = (err as { cause?: { code?: unknown } })?.cause?.code;
  return { status: undefined, message: typeof cause === "string" ? cause : clean(text) };
}

function clean(message: string): string {
  return message.replace(/\s+/g, " ").trim().slice(0, 200);
}

export const isAbsent = (f: Failure) => f.status === 404;
export const isExisting = (f: Failure) => (f.status === 400 || f.status === 409) && /exist/i.test(f.message);
export const isFolderMissing = (f: Failure) => f.status === 404 && /folder/i.test(f.message);

/** Maps a failure to the SecretStore error contract. `subject` names a ref or scope, never a value. */
export function toFleetError(f: Failure, subject: string): FleetError {
  const why = f.message ? `: ${f.message}` : "";
  const details = { status: f.status };
  if (f.status === undefined) {
    return new FleetError("SECRET_STORE_UNAVAILABLE", `infisical unreachable for ${subject}${why}`, {
      isRetryable: true,
      details,
    });
  }
  if (f.status === 401 || f.status === 403) {
    return new FleetError("SECRET_ACCESS_DENIED", `infisical denied access to ${subject} (HTTP ${f.status}${why})`, {
      details,
    });
  }
  if (f.status === 404) return new FleetError("SECRET_NOT_FOUND", `secret not found: ${subject}`, { details });
  if (f.status === 429 || f.status >= 500) {
    return new FleetError("SECRET_STORE_UNAVAILABLE", `infisical unavailable for ${subject} (HTTP ${f.status}${why})`, {
      isRetryable: true,
      details,
    });
  }
  // 422 bodies are validation dumps; keep them out of messages.
  const reason = f.status === 422 ? "" : why;
  return new FleetError("INTERNAL", `infisical rejected the request for ${subject} (HTTP ${f.status}${reason})`, {
    isRetryable: false,
    details,
  });
}
