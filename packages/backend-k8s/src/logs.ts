import { createInterface } from "node:readline";
import { PassThrough } from "node:stream";
import { type KubeConfig, Log } from "@kubernetes/client-node";
import type { LogLine } from "@mcpfleet/core";
import { toK8sError } from "./api-errors.js";
import { CONTAINER } from "./names.js";

const TS = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) ?(.*)$/;

/** Splits a `timestamps=true` log line into its RFC 3339 time and text. */
export function parseLogLine(raw: string): LogLine {
  const m = TS.exec(raw);
  if (!m) return { time: new Date().toISOString(), stream: "stdout", line: raw };
  const t = new Date(m[1] as string);
  return { time: Number.isNaN(t.getTime()) ? (m[1] as string) : t.toISOString(), stream: "stdout", line: m[2] ?? "" };
}

/**
 * Reads one pod's container log through client-node's `Log` (the pod log API). Kubernetes merges
 * stdout and stderr, so every line reports `stdout`. `tail: 0` with `follow` yields only new lines.
 */
export async function* podLogs(
  kc: KubeConfig,
  namespace: string,
  pod: string,
  opts: { follow?: boolean; tail?: number; signal?: AbortSignal },
): AsyncGenerator<LogLine> {
  const sink = new PassThrough();
  let controller: AbortController | undefined;
  const onAbort = () => {
    controller?.abort();
    sink.end();
  };
  if (opts.signal?.aborted) return;
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // `tailLines=0` is dropped by the client (falsy), so "only new lines" is done by reading the
    // last existing line's timestamp first and skipping everything up to it.
    const after = opts.tail === 0 ? await lastLineTime(kc, namespace, pod) : undefined;
    try {
      controller = await new Log(kc).log(namespace, pod, CONTAINER, sink, {
        follow: opts.follow ?? false,
        timestamps: true,
        ...(opts.tail !== undefined && opts.tail > 0 ? { tailLines: opts.tail } : {}),
      });
    } catch (err) {
      throw toK8sError(err, `logs of pod ${pod}`);
    }
    if (opts.signal?.aborted) controller.abort();
    const lines = createInterface({ input: sink, crlfDelay: Number.POSITIVE_INFINITY });
    let skipping = after !== undefined;
    for await (const raw of lines) {
      if (opts.signal?.aborted) break;
      const line = parseLogLine(raw);
      if (skipping && Date.parse(line.time) <= (after as number)) continue;
      skipping = false;
      yield line;
    }
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    controller?.abort();
    sink.destroy();
  }
}

async function lastLineTime(kc: KubeConfig, namespace: string, pod: string): Promise<number> {
  const sink = new PassThrough();
  let text = "";
  sink.on("data", (c: Buffer) => {
    text += c.toString("utf8");
  });
  const ended = new Promise<void>((resolve) => sink.on("end", resolve));
  try {
    await new Log(kc).log(namespace, pod, CONTAINER, sink, { follow: false, tailLines: 1, timestamps: true });
  } catch (err) {
    throw toK8sError(err, `logs of pod ${pod}`);
  }
  await ended;
  const last = text
    .split("\n")
    .filter((l) => l.length > 0)
    .pop();
  return last ? Date.parse(parseLogLine(last).time) : Number.NEGATIVE_INFINITY;
}
