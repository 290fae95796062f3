import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "@mcpfleet/core";
import type { InitializeResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { loggerSchema } from "../options.js";
import type { UpstreamExit } from "./upstream.js";

export const optionsSchema = z.object({
  logger: loggerSchema.optional(),
  /** `clientInfo` the bridge sends in its one `initialize`. */
  clientInfo: z.object({ name: z.string(), version: z.string() }).optional(),
  /** Capabilities the bridge advertises upstream; server requests it cannot route get a JSON-RPC error. */
  clientCapabilities: z.record(z.string(), z.unknown()).optional(),
  initializeTimeoutMs: z.number().int().positive().optional(),
  /** Sessions idle longer than this are dropped (default 30 min). */
  sessionIdleMs: z.number().int().positive().optional(),
  maxSessions: z.number().int().positive().optional(),
  /** Largest POST body accepted (default 4 MiB). */
  maxBodyBytes: z.number().int().positive().optional(),
  /**
   * Largest message (stdout line) the server may send (default 16 MiB). A longer line is dropped as
   * it streams, never held whole; the call it answered gets a JSON-RPC error.
   */
  maxMessageBytes: z.number().int().positive().optional(),
  /** Receives stdout lines that are not JSON-RPC (banners, stray prints); they are never logged. */
  onOutput: z
    .custom<(line: string) => void>((v) => typeof v === "function", { message: "must be a function" })
    .optional(),
});

export type StdioBridgeOptions = Omit<z.input<typeof optionsSchema>, "logger" | "onOutput"> & {
  logger?: Logger;
  onOutput?: (line: string) => void;
};

export interface StdioBridge {
  /** Node request handler speaking Streamable HTTP (POST, GET, DELETE) for any path it is mounted on. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** The server's cached `initialize` result (waits for the bridge's handshake). */
  initialized(): Promise<InitializeResult>;
  readonly sessionCount: number;
  /** Client requests forwarded upstream and not answered yet. */
  readonly pendingCount: number;
  /** Bytes of the server's incomplete stdout line held in memory (at most `maxMessageBytes`). */
  readonly bufferedBytes: number;
  /** Server messages dropped for exceeding `maxMessageBytes`. */
  readonly droppedMessages: number;
  /** Set once the server ended. */
  readonly exit: UpstreamExit | undefined;
  /** Called once when the server exits or its stdout closes. Returns an unsubscribe function. */
  onExit(listener: (exit: UpstreamExit) => void): () => void;
  /**
   * Ends every session; does not kill the process (its owner does). Calls still in flight are answered
   * with `MCP server <serverGone> before answering` when given (the owner saw the process die before
   * the bridge did), else with "bridge closed".
   */
  close(serverGone?: string): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
export type ParsedOptions = z.output<typeof optionsSchema>;
