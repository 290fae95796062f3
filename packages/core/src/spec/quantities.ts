/**
 * Resource quantities as users write them.
 *
 * Memory: a number of bytes, or a number (decimals allowed) with a unit. Units are
 * case-insensitive and binary as in Docker (`k`/`kb`, `m`/`mb`, `g`/`gb`, `t`/`tb` = 1024^n) and
 * Kubernetes binary suffixes (`Ki`, `Mi`, `Gi`, `Ti`); `b` means bytes. (Kubernetes' decimal `M`
 * is read the Docker way, as MiB.) The result is rounded down to whole bytes.
 *
 * CPU: a number of cores (`0.5`, `"1.0"`, `2`) or millicores (`"500m"`).
 */

const MEMORY = /^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]{0,2})$/;
const UNIT: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  ki: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mi: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gi: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  ti: 1024 ** 4,
};

/** Smallest memory limit accepted (4 MiB; container runtimes refuse less). */
export const MIN_MEMORY_BYTES = 4 * 1024 ** 2;
/** Largest memory limit accepted (1 PiB, well inside the safe-integer range). */
export const MAX_MEMORY_BYTES = 1024 ** 5;
/** Largest CPU limit accepted, in cores. */
export const MAX_CPUS = 1024;

/** Bytes, or an error message. */
export function parseMemoryQuantity(input: unknown): number | string {
  let bytes: number;
  if (typeof input === "number") {
    if (!Number.isInteger(input)) return "must be a whole number of bytes or a string such as 256m, 1g, 512Mi";
    bytes = input;
  } else if (typeof input === "string") {
    const m = MEMORY.exec(input.trim());
    const factor = m ? UNIT[(m[2] as string).toLowerCase()] : undefined;
    if (!m || factor === undefined)
      return "must be a memory quantity such as 256m, 1g, 512Mi, 1.5g or a number of bytes";
    bytes = Math.floor(Number(m[1]) * factor);
  } else {
    return "must be a string such as 256m or a number of bytes";
  }
  if (!Number.isFinite(bytes) || bytes < MIN_MEMORY_BYTES) return "must be at least 4 MiB";
  if (bytes > MAX_MEMORY_BYTES) return "must be at most 1 PiB";
  return bytes;
}

const CPU = /^([0-9]+(?:\.[0-9]+)?)(m?)$/;

/** `{ nanoCpus, milliCpus }`, or an error message. */
export function parseCpuQuantity(input: unknown): { nanoCpus: number; milliCpus: number } | string {
  let cores: number;
  if (typeof input === "number") {
    cores = input;
  } else if (typeof input === "string") {
    const m = CPU.exec(input.trim());
    if (!m) return "must be a CPU quantity such as 0.5, 1.0, 2 or 500m";
    cores = m[2] === "m" ? Number(m[1]) / 1000 : Number(m[1]);
  } else {
    return "must be a number of cores or a string such as 0.5 or 500m";
  }
  if (!Number.isFinite(cores) || cores < 0.001) return "must be at least 0.001 cores (1m)";
  if (cores > MAX_CPUS) return `must be at most ${MAX_CPUS} cores`;
  return { nanoCpus: Math.round(cores * 1e9), milliCpus: Math.max(1, Math.round(cores * 1000)) };
}
