export type { Namespacer } from "./aggregate/namespacing.js";
export { namespacer, RESOURCE_SCHEME, TOOL_SEPARATOR } from "./aggregate/namespacing.js";
export * from "./bridge/index.js";
export type { ControlServerOptions, ControlToolName } from "./control/control-server.js";
export { CONTROL_TOOL_ROLES, controlServerHandler, createControlServer } from "./control/control-server.js";
export type { GatewayHandler, GatewayOptions } from "./gateway/gateway.js";
export { createGateway } from "./gateway/gateway.js";
export { JSONRPC_POLICY_DENIED } from "./jsonrpc.js";
export * from "./policy/index.js";
export type { McpPrincipal, McpRole } from "./principal.js";
export {
  authInfoOf,
  MCP_ROLES,
  policyNameOf,
  principalOf,
  principalOfAuthInfo,
  roleAllows,
  setPrincipal,
} from "./principal.js";
export type { McpCallOptions, McpTarget } from "./probe/client.js";
export { closeClient, connectClient, listTools } from "./probe/client.js";
export type { McpProbeOptions } from "./probe/mcp-probe.js";
export { mcpProbe } from "./probe/mcp-probe.js";
export type { RpcBody } from "./rpc-body.js";
export { checkRpcBody, DEFAULT_RPC_BODY_LIMIT, readRpcBody, rpcMessageProblem } from "./rpc-body.js";
