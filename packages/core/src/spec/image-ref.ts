import { BoundedMemo } from "../adapter/memo.js";

/**
 * OCI / Docker image references, following the distribution reference grammar:
 * `[registry[:port]/]path[/path...][:tag][@algorithm:hex]`. Path components are lower-case
 * alphanumerics joined by `.`, `_`, `__` or dashes; tags are `[\w][\w.-]{0,127}`; a `sha256`
 * digest has exactly 64 hex digits.
 */

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]{1,5})?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const REFERENCE = new RegExp(
  `^(?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);

export interface ImageReference {
  registry?: string;
  path: string;
  tag?: string;
  digest?: string;
}

const cache = new BoundedMemo<string, ImageReference | string>(1024);

/** The parsed reference, or an error message (results of recent inputs are cached). */
export function parseImageReference(input: string): ImageReference | string {
  if (input.length > 512) return parseUncached(input);
  return cache.getOrSet(input, parseUncached);
}

function parseUncached(input: string): ImageReference | string {
  if (input.length === 0) return "must not be empty";
  if (input.length > 512) return "must be at most 512 characters";
  const m = REFERENCE.exec(input);
  if (!m) {
    return "must be an image reference such as registry.example.com:5000/org/name:tag or name@sha256:<64 hex> (lower-case repository, no spaces or shell characters)";
  }
  const registry = m[1];
  const path = m[2] as string;
  // A first component without '.' or ':' that is not localhost is a path component, which must be lower-case.
  if (
    registry !== undefined &&
    !/[.:[]/.test(registry) &&
    registry !== "localhost" &&
    registry !== registry.toLowerCase()
  ) {
    return "repository must be lower-case";
  }
  if ((registry ? registry.length + 1 : 0) + path.length > 255) return "repository name must be at most 255 characters";
  const digest = m[4];
  if (digest?.startsWith("sha256:") && !/^sha256:[0-9a-f]{64}$/.test(digest)) {
    return "sha256 digest must be 64 lower-case hex digits";
  }
  return {
    ...(registry !== undefined ? { registry } : {}),
    path,
    ...(m[3] !== undefined ? { tag: m[3] } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

export function isImageReference(input: unknown): input is string {
  return typeof input === "string" && typeof parseImageReference(input) !== "string";
}
