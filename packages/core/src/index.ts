/**
 * `@mcpfleet/core`: the application API (fleet engine, model, specs, formats, secrets, events, the
 * in-memory and file adapters). Named exports only, so every public name is chosen here and the API
 * report (`api/*.api.md`) shows a change. What adapters are written with is `@mcpfleet/core/adapter`;
 * conformance kits are `@mcpfleet/core/testing`; the rest is internal.
 */

export type { AddressClass, ClassifiedHost } from "./engine/address-class.js";
export {
  EndpointPolicy,
  type EndpointPolicyOptions,
  endpointPolicyFrom,
  type HostResolver,
} from "./engine/address-policy.js";
export { instanceView, visibleEndpoint } from "./engine/connection.js";
export { createFleet } from "./engine/create-fleet.js";
export type {
  CreateInstanceInput,
  EventObservation,
  Fleet,
  FleetObserver,
  FleetOptions,
  FleetRole,
  HealthProbe,
  InstanceConnection,
  InstancePageOptions,
  InstancesApi,
  InstantiateOverrides,
  ProbeResult,
  ProbeTarget,
  ReconcileObservation,
  ServersApi,
  TemplatesApi,
  UpdateInstanceInput,
  WaitForOptions,
} from "./engine/fleet-types.js";
export { httpProbe } from "./engine/http-probe.js";
export { urlRuntime } from "./engine/url-runtime.js";
export {
  FleetError,
  type FleetErrorCode,
  type FleetErrorOptions,
  type FleetIssue,
  specInvalid,
  toFleetError,
} from "./errors.js";
export {
  createEvent,
  DEFAULT_EVENT_SOURCE,
  EVENT_TYPES,
  type FleetEvent,
  type FleetEventData,
  type FleetEventType,
  isFleetEventType,
} from "./events.js";
export {
  type Catalog,
  type CatalogEntry,
  type CatalogOptions,
  type CatalogRepository,
  type CatalogSearch,
  createCatalog,
  memoryCatalogRepository,
} from "./formats/catalog.js";
export { CATALOG_RECORD_KIND, storeCatalogRepository } from "./formats/catalog-store.js";
export {
  type ImportedInstance,
  type ImportPlan,
  importSecrets,
  missingSecrets,
  missingSecretsError,
  type SecretPrompt,
  type SecretSlot,
} from "./formats/imported.js";
export { sanitizeInstanceName, uniqueInstanceName } from "./formats/instance-name.js";
export { MAX_IMPORTED_SERVERS, parseMcpServersConfig } from "./formats/mcp-servers-config.js";
export { REGISTRY_SCHEMA_VERSION, type RegistryServerJson, registryServerSchema } from "./formats/registry-schema.js";
export {
  type ParseRegistryOptions,
  parseRegistryServer,
  type RegistryRuntime,
  type RegistryServer,
} from "./formats/registry-server.js";
export {
  type ArgGroup,
  instantiateSpecTemplate,
  type SpecTemplate,
  type TemplateValues,
  type TemplateVariable,
  templateVars,
  type ValueTemplate,
} from "./formats/spec-template.js";
export { INSTANCE_STATUSES } from "./lifecycle/transition.js";
export { type Logger, type RecordedLogLine, recordingLogger, silentLogger } from "./logger.js";
export { type DeadLetter, type MemoryBus, type MemoryBusOptions, memoryBus } from "./memory/memory-bus.js";
export {
  type MemoryRuntime,
  type MemoryRuntimeFaults,
  type MemoryRuntimeOptions,
  memoryRuntime,
} from "./memory/memory-runtime.js";
export { isContainerSpec, isProcessSpec, isUrlSpec, specEnvironment } from "./model/spec-guards.js";
export type {
  AnyInstanceSpec,
  ContainerSpec,
  CustomSpec,
  EnvValue,
  HealthCheck,
  InstanceSpec,
  ProcessSpec,
  Resources,
  RestartPolicy,
  Transport,
  UrlAuthentication,
  UrlSpec,
  VolumeMount,
} from "./model/spec-types.js";
export type {
  DesiredState,
  EnvSchema,
  EnvSchemaEntry,
  EnvVarType,
  Instance,
  InstanceStatus,
  ServerDefinition,
  ServerDefinitionInput,
  ServerStatus,
  Template,
} from "./model/types.js";
export type {
  BusCapabilities,
  DeliveryContext,
  DurableEventBus,
  EventBus,
  EventHandler,
  StoredDeadLetter,
  SubscribeOptions,
  Subscription,
} from "./plugins/bus.js";
export type { CallOptions, PluginV1 } from "./plugins/common.js";
export type {
  DeployRequest,
  LogLine,
  LogOptions,
  ObservedInstance,
  ObservedPhase,
  ReplicaEndpoint,
  ResolvedSecrets,
  RuntimeBackend,
  RuntimeCapabilities,
  RuntimeEvent,
} from "./plugins/runtime.js";
export type { SecretRef, SecretStore, SecretStoreCapabilities } from "./plugins/secret-store.js";
export type {
  ApiKeyRecord,
  FleetStore,
  Lease,
  LeaseFence,
  LeaseState,
  LeaseStore,
  QueryFilter,
  QueryPage,
  Repository,
  RepositoryQuery,
  Revisioned,
  StoreChange,
  StoredRecord,
  StoredTemplate,
  WriteOptions,
} from "./plugins/store.js";
export { type EncryptedFileSecretsOptions, encryptedFileSecrets } from "./secrets/encrypted-file-secrets.js";
export { type EnvSecretsOptions, envSecrets, envSecretVariable } from "./secrets/env-secrets.js";
export { extractSecrets } from "./secrets/extract.js";
export { type MemorySecretsInitial, memorySecrets } from "./secrets/memory-secrets.js";
export { REDACTED, type RedactSpecOptions, redactSecrets, redactSpec } from "./secrets/redact.js";
export { type ResolveOptions, resolveSpecSecrets, resolveSpecSecretsWith } from "./secrets/resolve.js";
export { allowedSecretScopes, checkSecretScopes, instanceScope, parseSecretScopes } from "./secrets/scope-check.js";
export {
  formatSecretRef,
  isSecretRef,
  isSecretRefPart,
  looksLikeSecretRef,
  parseSecretRef,
  SECRET_REF_PREFIX,
} from "./secrets/secret-ref.js";
export { containerStartRequestToWire, parseContainerStartRequest } from "./spec/container-request.js";
export { parseEnvSchema } from "./spec/env-schema.js";
export { type ValidatedEnvironment, validateEnvironment } from "./spec/env-validate.js";
export { type ImageReference, isImageReference, parseImageReference } from "./spec/image-ref.js";
export { type ParseSpecOptions, parseInstanceSpec } from "./spec/parse-spec.js";
export {
  MAX_CPUS,
  MAX_MEMORY_BYTES,
  MIN_MEMORY_BYTES,
  parseCpuQuantity,
  parseMemoryQuantity,
} from "./spec/quantities.js";
export { type ParsedServerDefinition, parseServerDefinition } from "./spec/server-definition.js";
export {
  BUILTIN_SPEC_TYPES,
  builtinSpecTypes,
  type CustomSpecParser,
  type SpecParseFunction,
  type SpecTypeDefinition,
  type SpecTypeRegistry,
  specTypeRegistry,
} from "./spec/spec-registry.js";
export type { StandardSchemaV1 } from "./spec/standard-schema.js";
export { parseTemplate, templateInstanceInput } from "./spec/template.js";
export { type FileStoreOptions, fileStore } from "./store/file-store.js";
export { memoryStore } from "./store/memory-store.js";
