/** Deepest nesting a request body may have (objects and arrays); deeper bodies are refused with 400. */
export const MAX_JSON_DEPTH = 64;

/**
 * The nesting depth of a JSON text, counted in one pass over the raw bytes (strings skipped), so a
 * body nested thousands deep is refused before `JSON.parse` builds it and before any recursive code
 * (validation, hashing, freezing, serialising) can overflow the stack on it. Stops early past `limit`.
 */
export function jsonDepth(buf: Uint8Array, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Thrown from the JSON parser's `verify` hook; the body error handler answers 400 with it. */
export class JsonTooDeepError extends Error {
  readonly type = "entity.too.deep";
  readonly status = 400;
  constructor(readonly limit: number) {
    super(`JSON nested deeper than ${limit} levels`);
  }
}
