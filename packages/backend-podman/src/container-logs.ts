import type { LogLine, LogOptions } from "@mcpfleet/core";
import type Dockerode from "dockerode";
import { wrapEngineError } from "./engine-ops.js";
import { LogDemuxer } from "./logs.js";

/** A container's logs as lines (demultiplexed, timestamped); with `follow`, until the signal aborts. */
export async function* containerLogs(client: Dockerode, name: string, logOptions: LogOptions): AsyncGenerator<LogLine> {
  const demux = new LogDemuxer(true);
  const base = {
    stdout: true,
    stderr: true,
    timestamps: true,
    ...(logOptions.tail !== undefined ? { tail: logOptions.tail } : {}),
  };
  const container = client.getContainer(name);
  if (!logOptions.follow) {
    const buf = (await container.logs({ ...base, follow: false })) as unknown as Buffer;
    yield* demux.push(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf)));
    yield* demux.flush();
    return;
  }
  const signal = logOptions.signal ?? new AbortController().signal;
  let stream: NodeJS.ReadableStream & { destroy(): void };
  try {
    // the engine may hold the response headers until the first line: the signal must reach the request
    stream = (await container.logs({ ...base, follow: true, abortSignal: signal })) as unknown as typeof stream;
  } catch (err) {
    if (signal.aborted) return;
    throw wrapEngineError(err, `logs of ${name}`);
  }
  const stop = () => stream.destroy();
  if (signal.aborted) stop();
  signal.addEventListener("abort", stop, { once: true });
  try {
    for await (const chunk of stream) {
      yield* demux.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
    }
    yield* demux.flush();
  } catch (err) {
    if (!signal.aborted) throw wrapEngineError(err, `logs of ${name}`);
  } finally {
    signal.removeEventListener("abort", stop);
    stop();
  }
}
