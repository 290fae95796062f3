export type { ProcessRuntimeOptions } from "./options.js";
export type { ProcessRuntime } from "./process-runtime.js";
export { processRuntime } from "./process-runtime.js";
