export { type KubernetesRuntime, kubernetesRuntime } from "./k8s-runtime.js";
export { type DetectOptions, detectKubernetes, type KubernetesDetection, SERVICE_ACCOUNT_DIR } from "./kubeconfig.js";
export { buildManifests, DEFAULT_LIMITS, DEFAULT_REQUESTS, type KubeObject, type Manifests } from "./manifests.js";
export {
  ANN_INSTANCE_ID,
  ANN_SPEC_HASH,
  FIELD_MANAGER,
  LABEL_INSTANCE,
  LABEL_INSTANCE_ID,
  LABEL_NAME,
  LABEL_SPEC_HASH,
  MANAGED_BY,
  objectName,
} from "./names.js";
export type { EndpointContext, KubernetesRuntimeOptions } from "./options.js";
