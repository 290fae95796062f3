/**
 * Exit codes of `mcpfleet` (documented in the README; scripts may rely on them).
 * 0 ok · 1 other error · 2 usage · 3 authentication/permission · 4 not found · 5 conflict ·
 * 6 invalid input · 7 host or server unavailable · 8 the tool answered with an error · 130 interrupted.
 */
export const EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  AUTH: 3,
  NOT_FOUND: 4,
  CONFLICT: 5,
  INVALID: 6,
  UNAVAILABLE: 7,
  TOOL_ERROR: 8,
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as `mcpfleet: <CODE>: <message>` and exits with `exitCode`. */
export class CliError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly status: number | undefined;
  readonly issues: Array<{ path: string; message: string }>;

  constructor(
    code: string,
    message: string,
    options: { exitCode?: ExitCode; status?: number; issues?: Array<{ path: string; message: string }> } = {},
  ) {
    super(message);
    this.name = "CliError";
    this.code = code;
    this.exitCode = options.exitCode ?? exitCodeFor(code, options.status);
    this.status = options.status;
    this.issues = options.issues ?? [];
  }
}

/** The exit code of a problem code (the host's FleetError codes) or, failing that, of the HTTP status. */
export function exitCodeFor(code: string, status?: number): ExitCode {
  switch (code) {
    case "UNAUTHORIZED":
    case "FORBIDDEN":
    case "CONFIG_INSECURE":
      return EXIT.AUTH;
    case "NOT_FOUND":
      return EXIT.NOT_FOUND;
    case "CONFLICT":
    case "IN_USE":
    case "ALREADY_EXISTS":
      return EXIT.CONFLICT;
    case "SPEC_INVALID":
    case "USAGE":
      return code === "USAGE" ? EXIT.USAGE : EXIT.INVALID;
    case "HOST_UNREACHABLE":
    case "RUNTIME_UNAVAILABLE":
    case "RATE_LIMITED":
      return EXIT.UNAVAILABLE;
    case "TOOL_ERROR":
      return EXIT.TOOL_ERROR;
  }
  if (status === 401 || status === 403) return EXIT.AUTH;
  if (status === 404) return EXIT.NOT_FOUND;
  if (status === 409) return EXIT.CONFLICT;
  if (status === 400 || status === 422) return EXIT.INVALID;
  if (status !== undefined && status >= 500) return EXIT.UNAVAILABLE;
  return EXIT.ERROR;
}

export const usage = (message: string) => new CliError("USAGE", message, { exitCode: EXIT.USAGE });
