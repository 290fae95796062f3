import { readFileSync } from "node:fs";
import { FleetError } from "../errors.js";
import { type KdfParams, newParams, scrypt } from "./encrypted-file-format.js";

/** Where an encrypted secret store gets its AES-256 key. */
export type SecretKeySource = { key: Uint8Array | string } | { passphrase: string } | { keyFile: string };

function optionsError(adapter: string, option: string, message: string): FleetError {
  return new FleetError("OPTIONS_INVALID", `[mcpfleet/${adapter}] option "${option}" ${message}`, { path: option });
}

/** 32 raw bytes, 64 hex digits or base64 of 32 bytes; else `OPTIONS_INVALID` naming the option. */
export function secretKeyBytes(key: Uint8Array | string, option: string, adapter: string): Buffer {
  let buf: Buffer | undefined;
  if (typeof key !== "string") buf = Buffer.from(key);
  else {
    const s = key.trim();
    if (/^[0-9a-fA-F]{64}$/.test(s)) buf = Buffer.from(s, "hex");
    else if (/^[A-Za-z0-9+/]{43}=?$/.test(s)) buf = Buffer.from(s, "base64");
  }
  if (buf?.length !== 32) throw optionsError(adapter, option, "must be 32 bytes (raw, 64 hex digits or base64)");
  return buf;
}

/**
 * The key material of one store: a raw key (from `key` or `keyFile`) or a passphrase stretched
 * with scrypt per salt (derived keys cached). `keyFor` answers the key for a header's parameters;
 * `freshParams` gives the parameters new ciphertext uses (a new random salt for passphrases).
 */
export interface SecretKeyring {
  readonly kdf: 0 | 1;
  keyFor(params: KdfParams): Promise<Buffer>;
  freshParams(): KdfParams;
}

export function secretKeyring(source: SecretKeySource, adapter: string, scryptCost = 15): SecretKeyring {
  let fixedKey: Buffer | undefined;
  let passphrase: string | undefined;
  if ("key" in source) fixedKey = secretKeyBytes(source.key, "key", adapter);
  else if ("keyFile" in source) {
    let raw: Buffer;
    try {
      raw = readFileSync(source.keyFile);
    } catch {
      throw optionsError(adapter, "keyFile", "cannot be read");
    }
    fixedKey = raw.length === 32 ? raw : secretKeyBytes(raw.toString("utf8"), "keyFile", adapter);
  } else passphrase = source.passphrase;
  const derived = new Map<string, Buffer>();
  const mismatch = (why: string) =>
    new FleetError("SECRET_STORE_UNAVAILABLE", `[mcpfleet/${adapter}] ${why}`, { isRetryable: false });
  return {
    kdf: fixedKey ? 0 : 1,
    async keyFor(params) {
      if (params.kdf === 0) {
        if (!fixedKey) throw mismatch("data was written with a raw key, but this store has a passphrase");
        return fixedKey;
      }
      if (passphrase === undefined) throw mismatch("data was written with a passphrase, but this store has a raw key");
      const id = `${params.salt.toString("hex")}:${params.logN}:${params.r}:${params.p}`;
      let k = derived.get(id);
      if (!k) {
        k = await scrypt(passphrase, params);
        derived.set(id, k);
      }
      return k;
    },
    freshParams: () => newParams(fixedKey ? 0 : 1, scryptCost),
  };
}
