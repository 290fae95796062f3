export * from "./memory-runtime.js";
export * from "./memory-bus.js";
