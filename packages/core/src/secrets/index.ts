export * from "./encrypted-file-secrets.js";
export * from "./env-secrets.js";
export * from "./extract.js";
export * from "./memory-secrets.js";
export * from "./redact.js";
export * from "./resolve.js";
export * from "./scope-check.js";
export * from "./secret-ref.js";
