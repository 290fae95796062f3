import type { Logger } from "@mcpfleet/core";
import { type ServedBridge, serveStdioBridge } from "@mcpfleet/mcp";
import type Dockerode from "dockerode";
import { type AttachedStdio, attachStdio } from "./attach.js";

interface Entry {
  containerId: string;
  attached: AttachedStdio;
  served?: ServedBridge;
  ended: boolean;
}

/** An attached container whose bridge is not served yet. */
export interface PendingBridge {
  /** Serves the bridge on 127.0.0.1 (after the container started); returns its URL. */
  serve(): Promise<string>;
}

async function closeEntry(e: Entry): Promise<void> {
  try {
    await e.served?.close();
  } finally {
    e.attached.close();
  }
}

/**
 * Stdio containers: one attach + one Streamable HTTP bridge (`@mcpfleet/mcp`'s `serveStdioBridge`) on
 * 127.0.0.1 per container, held by this process. A running container this process holds no bridge for
 * (started by another process, or before a restart) is re-attached on the next inspect/deploy.
 */
export class StdioBridges {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly logger: Logger) {}

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
          entry.served = await serveStdioBridge({ stdin: attached.stdin, stdout: attached.stdout }, { logger });
          return entry.served.url;
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
    return entry.served?.url;
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
