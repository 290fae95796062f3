import { Transform } from "node:stream";

/**
 * Rewrites the `endpoint` event of a legacy SSE stream (`data: /messages?sessionId=..`) so the
 * client posts its messages back through the gateway (`<prefix>/messages?sessionId=..`), and tells
 * `onEndpoint` the session id it names. Everything after that event passes through untouched.
 */
export function sseEndpointRewriter(
  prefix: string,
  onEndpoint?: (sessionId: string | undefined) => void,
  limit = 64 * 1024,
): Transform {
  let buffer = "";
  let done = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (done) return cb(null, chunk);
      buffer += chunk.toString("utf8");
      let out = "";
      let end = buffer.search(/\r?\n\r?\n/);
      while (!done && end >= 0) {
        const sep = buffer.slice(end).match(/^\r?\n\r?\n/)![0];
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + sep.length);
        if (/^event:\s*endpoint\s*$/m.test(block)) {
          out += block.replace(/^data:\s*(.*)$/m, (_m, url: string) => {
            const u = new URL(url, "http://upstream.invalid");
            onEndpoint?.(u.searchParams.get("sessionId") ?? undefined);
            return `data: ${prefix}${u.pathname}${u.search}`;
          });
          done = true;
        } else out += block;
        out += sep;
        end = buffer.search(/\r?\n\r?\n/);
      }
      if (done || buffer.length > limit) {
        out += buffer;
        buffer = "";
        done = true;
      }
      cb(null, out.length ? out : undefined);
    },
    flush(cb) {
      cb(null, buffer.length ? buffer : undefined);
    },
  });
}
