export * from "./bus-conformance.js";
export * from "./fakes.js";
export * from "./gate.js";
export * from "./runtime-conformance.js";
export * from "./secret-store-conformance.js";
export * from "./store-conformance.js";
