export { createFleet } from "./create-fleet.js";
export { checkEndpoint, checkHostPaths } from "./endpoint-policy.js";
export { httpProbe } from "./http-probe.js";
export { KeyedQueue } from "./keyed-queue.js";
export { urlRuntime } from "./url-runtime.js";
