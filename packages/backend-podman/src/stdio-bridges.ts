import type { Logger } from "@mcpfleet/core";
import { type ServedBridge, serveStdioBridge } from "@mcpfleet/mcp";
import type Dockerode from "dockerode";
import { type AttachedStdio, attachStdio } from "./attach.js";

interface Entry {
  containerId: string;
  attached: AttachedStdio;
  served?: ServedBridge;
  /** The served bridge's URL with the advertised host. */
  url?: string;
  ended: boolean;
}

/** An attached container whose bridge is not served yet. */
export interface PendingBridge {
  /** Serves the bridge on the listen host (after the container started); returns its advertised URL. */
  serve(): Promise<string>;
}

async function closeEntry(e: Entry): Promise<void> {
  try {
    await e.served?.close();
  } finally {
    e.attached.close();
  }
}

export interface BridgeHosts {
  /** Address the bridges listen on (the runtime's `publishHost`). */
  listenHost: string;
  /** Host part of the URLs handed out (the runtime's advertised host; IPv6 in brackets). */
  endpointHost: string;
}

/**
 * Stdio containers: one attach + one Streamable HTTP bridge (`@mcpfleet/mcp`'s `serveStdioBridge`) on
 * the publish host (127.0.0.1 by default) per container, held by this process, token-protected. A running container this process holds no bridge for
 * (started by another process, or before a restart) is re-attached on the next inspect/deploy.
 */
export class StdioBridges {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly logger: Logger,
    private readonly hosts: BridgeHosts = { listenHost: "127.0.0.1", endpointHost: "127.0.0.1" },
  ) {}

  /** Attaches (before start, so no output is lost). */
  async attach(
    client: Dockerode,
    instanceId: string,
    containerId: string,
    signal?: AbortSignal,
  ): Promise<PendingBridge> {
    const attached = await attachStdio(client, containerId, signal);
    await this.drop(instanceId);
    const entry: Entry = { containerId, attached, ended: false };
    attached.stdout.on("end", () => {
      entry.ended = true;
    });
    this.entries.set(instanceId, entry);
    const logger = this.logger.child({ instanceId });
    return {
      serve: async () => {
        try {
          entry.served = await serveStdioBridge(
            { stdin: attached.stdin, stdout: attached.stdout },
            { logger, host: this.hosts.listenHost },
          );
          const url = new URL(entry.served.url);
          url.hostname = this.hosts.endpointHost;
          entry.url = url.href;
          return entry.url;
        } catch (err) {
          await this.drop(instanceId);
          throw err;
        }
      },
    };
  }

  /** URL of a live bridge for this exact container, if this process holds one. */
  url(instanceId: string, containerId: string): string | undefined {
    const entry = this.entries.get(instanceId);
    if (!entry || entry.containerId !== containerId || entry.ended) return undefined;
    return entry.url;
  }

  /** Headers (the bridge token) every request to this process's bridge for the instance needs. */
  headers(instanceId: string): Record<string, string> | undefined {
    return this.entries.get(instanceId)?.served?.headers;
  }

  /** Attach + serve a container that is already running (adoption). */
  async adopt(client: Dockerode, instanceId: string, containerId: string, signal?: AbortSignal): Promise<string> {
    const pending = await this.attach(client, instanceId, containerId, signal);
    this.logger.info({ instanceId }, "attached to a running stdio container");
    return pending.serve();
  }

  async drop(instanceId: string): Promise<void> {
    const entry = this.entries.get(instanceId);
    if (!entry) return;
    this.entries.delete(instanceId);
    await closeEntry(entry).catch(() => {});
  }

  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => closeEntry(e).catch(() => {})));
  }
}
