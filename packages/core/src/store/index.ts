export * from "./file-store.js";
export * from "./memory-store.js";
export { deepFreeze } from "./table.js";
