import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb } from "node:crypto";

/**
 * File layout (all integers big-endian):
 *   magic "MCPFSEC1" (8) | kdf (1: 0 = raw 32-byte key, 1 = scrypt) | log2 N (1) | r (1) | p (1)
 *   | salt (16) | iv (12) | tag (16) | ciphertext
 * AES-256-GCM; the 40-byte header before the iv is authenticated as additional data, so a changed
 * header, iv, tag or ciphertext fails decryption. Plaintext: JSON `{ "v": 1, "s": { scope: { key: value } } }`.
 */
export const MAGIC = Buffer.from("MCPFSEC1", "ascii");
const HEADER = 8 + 4 + 16;
const IV = 12;
const TAG = 16;

export interface KdfParams {
  kdf: 0 | 1;
  logN: number;
  r: number;
  p: number;
  salt: Buffer;
}

export type SecretsData = Record<string, Record<string, string>>;

export function scrypt(passphrase: string, p: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(
      passphrase,
      p.salt,
      32,
      { N: 2 ** p.logN, r: p.r, p: p.p, maxmem: 256 * 2 ** p.logN * p.r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

export function newParams(kdf: 0 | 1, logN: number): KdfParams {
  return {
    kdf,
    logN: kdf === 1 ? logN : 0,
    r: kdf === 1 ? 8 : 0,
    p: kdf === 1 ? 1 : 0,
    salt: kdf === 1 ? randomBytes(16) : Buffer.alloc(16),
  };
}

/** Header params, or undefined when the bytes are not this format. */
export function readParams(buf: Buffer): KdfParams | undefined {
  if (buf.length < HEADER + IV + TAG || !buf.subarray(0, 8).equals(MAGIC)) return undefined;
  const kdf = buf[8];
  if (kdf !== 0 && kdf !== 1) return undefined;
  const logN = buf[9] as number;
  const r = buf[10] as number;
  const p = buf[11] as number;
  if (kdf === 1 && (logN < 10 || logN > 20 || r < 1 || p < 1)) return undefined;
  return { kdf, logN, r, p, salt: Buffer.from(buf.subarray(12, 28)) };
}

export function encrypt(data: SecretsData, key: Buffer, params: KdfParams): Buffer {
  const header = Buffer.concat([MAGIC, Buffer.from([params.kdf, params.logN, params.r, params.p]), params.salt]);
  const iv = randomBytes(IV);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(JSON.stringify({ v: 1, s: data }), "utf8"), cipher.final()]);
  return Buffer.concat([header, iv, cipher.getAuthTag(), body]);
}

/** Decrypted data, or undefined when authentication fails (wrong key or tampered file). */
export function decrypt(buf: Buffer, key: Buffer): SecretsData | undefined {
  const header = buf.subarray(0, HEADER);
  const iv = buf.subarray(HEADER, HEADER + IV);
  const tag = buf.subarray(HEADER + IV, HEADER + IV + TAG);
  try {
    const d = createDecipheriv("aes-256-gcm", key, iv);
    d.setAAD(header);
    d.setAuthTag(tag);
    const text = Buffer.concat([d.update(buf.subarray(HEADER + IV + TAG)), d.final()]).toString("utf8");
    const parsed = JSON.parse(text) as { v?: unknown; s?: unknown };
    if (parsed.v !== 1 || typeof parsed.s !== "object" || parsed.s === null) return undefined;
    const out: SecretsData = Object.create(null);
    for (const [scope, keys] of Object.entries(parsed.s as Record<string, unknown>)) {
      if (typeof keys !== "object" || keys === null) return undefined;
      const m: Record<string, string> = Object.create(null);
      for (const [k, v] of Object.entries(keys as Record<string, unknown>)) {
        if (typeof v !== "string") return undefined;
        m[k] = v;
      }
      out[scope] = m;
    }
    return out;
  } catch {
    return undefined;
  }
}
