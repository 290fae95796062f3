export { containerName, LABEL, secretPrefix } from "./naming.js";
export type { PodmanRuntimeOptions, SecretMode } from "./options.js";
export { parseMemory } from "./options.js";
export { type PodmanConnection, type PodmanRuntime, podmanRuntime } from "./podman-runtime.js";
export { type SocketCandidate, socketCandidates } from "./socket.js";
