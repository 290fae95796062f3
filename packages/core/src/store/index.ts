export * from "./memory-store.js";
export * from "./file-store.js";
export { deepFreeze } from "./table.js";
