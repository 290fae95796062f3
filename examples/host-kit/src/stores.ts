import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  encryptedFileSecrets,
  envSecrets,
  type FleetStore,
  fileStore,
  type Logger,
  memorySecrets,
  memoryStore,
  type SecretStore,
} from "@mcpfleet/core";
import { loadExport } from "./adapters.js";
import type { Choice, Own } from "./assemble.js";
import type { HostConfig } from "./config.js";

/** A URL without its credentials, for the start log. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = "***";
      u.password = "";
    }
    return u.toString();
  } catch {
    return "(unparseable url)";
  }
}

/** `{ key }` or `{ passphrase }` from SECRETS_KEY, else the data directory's key file (created once). */
async function keySource(config: HostConfig, logger: Logger) {
  const key = config.SECRETS_KEY;
  return {
    option: key
      ? /^[0-9a-fA-F]{64}$/.test(key) || /^[A-Za-z0-9+/]{43}=?$/.test(key)
        ? { key }
        : { passphrase: key }
      : { keyFile: await ensureKeyFile(join(config.dataDir, "secrets.key"), logger) },
    from: key ? "SECRETS_KEY" : join(config.dataDir, "secrets.key"),
  };
}

export async function buildStore(config: HostConfig, logger: Logger, choices: Choice[], own: Own): Promise<FleetStore> {
  if (config.FLEET_STORE === "memory") {
    choices.push({ what: "store", value: "memory", reason: "FLEET_STORE=memory (lost on exit)" });
    return own(memoryStore());
  }
  if (config.FLEET_STORE === "postgres") {
    const postgresStore = await loadExport("@mcpfleet/store-postgres", "postgresStore", "FLEET_STORE=postgres");
    const store = own(
      postgresStore(
        { connectionString: config.DATABASE_URL },
        {
          ...(config.DATABASE_SCHEMA ? { schema: config.DATABASE_SCHEMA } : {}),
          ...(config.DATABASE_POOL_SIZE ? { maxConnections: config.DATABASE_POOL_SIZE } : {}),
          logger: logger.child({ component: "store-postgres" }),
        },
      ) as FleetStore & { migrate(): Promise<unknown>; schema: string },
    );
    // migrate now: a database newer than this code refuses the start instead of failing later
    await store.migrate();
    choices.push({
      what: "store",
      value: "postgres",
      reason: `FLEET_STORE=postgres (${redact(config.DATABASE_URL!)}, schema ${store.schema})`,
    });
    return store;
  }
  choices.push({ what: "store", value: "file", reason: `FLEET_STORE=file (${config.storePath})` });
  return own(fileStore({ path: config.storePath }));
}

export async function buildSecrets(
  config: HostConfig,
  logger: Logger,
  choices: Choice[],
  own: Own,
): Promise<SecretStore> {
  const log = logger.child({ component: `secrets-${config.FLEET_SECRETS}` });
  switch (config.FLEET_SECRETS) {
    case "memory":
      choices.push({ what: "secrets", value: "memory", reason: "FLEET_SECRETS=memory (lost on exit)" });
      return own(memorySecrets());
    case "env":
      choices.push({
        what: "secrets",
        value: "env",
        reason: "FLEET_SECRETS=env (read-only; MCPFLEET_SECRET_<SCOPE>__<KEY>)",
      });
      return own(envSecrets(config.SECRETS_ENV_PREFIX !== undefined ? { prefix: config.SECRETS_ENV_PREFIX } : {}));
    case "vault": {
      const vaultSecrets = await loadExport("@mcpfleet/secrets-vault", "vaultSecrets", "FLEET_SECRETS=vault");
      choices.push({ what: "secrets", value: "vault", reason: `FLEET_SECRETS=vault (${redact(config.VAULT_ADDR!)})` });
      return own(
        vaultSecrets({
          address: config.VAULT_ADDR,
          auth: { method: "token", token: config.VAULT_TOKEN },
          ...(config.VAULT_MOUNT ? { mount: config.VAULT_MOUNT } : {}),
          ...(config.VAULT_NAMESPACE ? { namespace: config.VAULT_NAMESPACE } : {}),
          logger: log,
        }) as SecretStore,
      );
    }
    case "infisical": {
      const infisicalSecrets = await loadExport(
        "@mcpfleet/secrets-infisical",
        "infisicalSecrets",
        "FLEET_SECRETS=infisical",
      );
      choices.push({ what: "secrets", value: "infisical", reason: "FLEET_SECRETS=infisical" });
      return own(
        infisicalSecrets({
          ...(config.INFISICAL_SITE_URL ? { siteUrl: config.INFISICAL_SITE_URL } : {}),
          auth: { clientId: config.INFISICAL_CLIENT_ID, clientSecret: config.INFISICAL_CLIENT_SECRET },
          projectId: config.INFISICAL_PROJECT_ID,
          environment: config.INFISICAL_ENVIRONMENT ?? "prod",
          logger: log,
        }) as SecretStore,
      );
    }
    case "file": {
      const { option, from } = await keySource(config, logger);
      choices.push({
        what: "secrets",
        value: "file",
        reason: `FLEET_SECRETS=file (${config.secretsPath}, AES-256-GCM, key from ${from})`,
      });
      return own(encryptedFileSecrets({ path: config.secretsPath, ...option }));
    }
    case "postgres": {
      const postgresSecrets = await loadExport("@mcpfleet/store-postgres", "postgresSecrets", "FLEET_SECRETS=postgres");
      const { option, from } = await keySource(config, logger);
      choices.push({
        what: "secrets",
        value: "postgres",
        reason: `FLEET_SECRETS=postgres (${redact(config.DATABASE_URL!)}, AES-256-GCM, key from ${from}; every machine needs the same key)`,
      });
      return own(
        postgresSecrets({
          connectionString: config.DATABASE_URL,
          ...(config.DATABASE_SCHEMA ? { schema: config.DATABASE_SCHEMA } : {}),
          ...option,
          logger: log,
        }) as SecretStore,
      );
    }
  }
}

/** The local secrets key file, created (32 random bytes, base64, mode 0600) at first start. */
async function ensureKeyFile(path: string, logger: Logger): Promise<string> {
  try {
    await readFile(path, "utf8");
    return path;
  } catch {
    await mkdir(dirname(path), { recursive: true });
    const created = await writeFile(path, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600, flag: "wx" }).then(
      () => true,
      () => false,
    );
    if (created) {
      await chmod(path, 0o600).catch(() => {});
      logger.info(
        { path },
        "created the secrets encryption key (keep it with the data directory; SECRETS_KEY overrides it)",
      );
    }
    return path;
  }
}
