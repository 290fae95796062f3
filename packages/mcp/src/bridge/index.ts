export type { ServedBridge, ServeStdioBridgeOptions } from "./serve.js";
export { BRIDGE_TOKEN_HEADER, serveStdioBridge } from "./serve.js";
export type { StdioBridge, StdioBridgeOptions } from "./stdio-bridge.js";
export { createStdioBridge } from "./stdio-bridge.js";
export type { StdioStreams, UpstreamExit } from "./upstream.js";
