export * from "./catalog.js";
export * from "./catalog-store.js";
export * from "./imported.js";
export * from "./instance-name.js";
export * from "./mcp-servers-config.js";
export { REGISTRY_SCHEMA_VERSION, type RegistryServerJson, registryServerSchema } from "./registry-schema.js";
export * from "./registry-server.js";
export * from "./spec-template.js";
