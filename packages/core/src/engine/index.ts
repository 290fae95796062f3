export { createFleet } from "./create-fleet.js";
export { httpProbe } from "./http-probe.js";
export { urlRuntime } from "./url-runtime.js";
export { checkEndpoint, checkHostPaths } from "./endpoint-policy.js";
export { KeyedQueue } from "./keyed-queue.js";
