export { infisicalSecrets } from "./infisical-secrets.js";
export type { InfisicalSecretsOptions } from "./options.js";
