export { isConnectionError } from "./errors.js";
export { MIGRATIONS, type MigrationResult, SCHEMA_VERSION } from "./migrations.js";
export type { PostgresConnection, PostgresStoreOptions } from "./options.js";
export { type PostgresSecrets, type PostgresSecretsOptions, postgresSecrets } from "./postgres-secrets.js";
export { type PostgresStore, postgresStore } from "./postgres-store.js";
