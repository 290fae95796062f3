export type { VaultSecretsOptions } from "./options.js";
export type { NodeVaultClient } from "./transport.js";
export { vaultSecrets } from "./vault-secrets.js";
