import { randomUUID } from "node:crypto";
import { checkService } from "@mcpfleet/core/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

export async function pingJetStream(servers: string): Promise<boolean | string> {
  const nc = await connect({ servers, timeout: 2000, maxReconnectAttempts: 0 });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.getAccountInfo();
    return true;
  } finally {
    await nc.close();
  }
}

export const natsService = () => checkService("nats-jetstream", () => pingJetStream(NATS_URL));

/** Stream name, subject prefix and dead-letter names unique to one test. */
export function testNames(what = "t") {
  const id = `${what}_${randomUUID().slice(0, 8)}`;
  return {
    stream: `MCPFLEET_TEST_${id}`,
    subjectPrefix: `mcpfleet-test.${id}.events`,
    deadLetterSubject: `mcpfleet-test.${id}.dead`,
  };
}

/** Deletes a test's streams (their consumers go with them). */
export async function deleteStreams(names: { stream: string }, servers = NATS_URL): Promise<void> {
  const nc = await connect({ servers, timeout: 2000, maxReconnectAttempts: 0 });
  try {
    const jsm = await jetstreamManager(nc);
    for (const s of [names.stream, `${names.stream}_DEAD`]) await jsm.streams.delete(s).catch(() => false);
  } finally {
    await nc.close();
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
