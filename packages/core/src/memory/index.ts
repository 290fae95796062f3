export * from "./memory-bus.js";
export * from "./memory-runtime.js";
