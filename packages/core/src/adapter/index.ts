/**
 * `@mcpfleet/core/adapter`: the kit adapters are written with (the `@ai-sdk/provider-utils` idea):
 * option parsing with one message format, secret-ref checks, abort-aware timing helpers, one
 * backoff, a bounded memo, the bus publish/subscribe plumbing, and the engine internals adapters
 * may reuse. Not part of the application API (`@mcpfleet/core`).
 */

export { guardedFetch } from "../engine/guarded-fetch.js";
export { throwIfAborted } from "../errors.js";
export { INSTANCE_STATUSES } from "../lifecycle/transition.js";
export { AsyncQueue, rejectingIterable, watchQueue } from "../memory/async-queue.js";
export { LogRing } from "../memory/log-ring.js";
export {
  decrypt as decryptSecretsBlob,
  encrypt as encryptSecretsBlob,
  type KdfParams,
  readParams as readSecretsBlobParams,
  type SecretsData,
} from "../secrets/encrypted-file-format.js";
export { type SecretKeyring, type SecretKeySource, secretKeyBytes, secretKeyring } from "../secrets/secret-key.js";
export {
  checkScope as checkSecretScope,
  checkValue as checkSecretValue,
  guard as guardSecretCall,
  notFound as secretNotFound,
  refString as secretRefString,
} from "../secrets/store-common.js";
export { specHash } from "../spec/spec-hash.js";
export { checkQuery, decodeCursor, encodeCursor, MAX_QUERY_LIMIT, queryDocuments } from "../store/query.js";
export { deepFreeze, MAX_DOCUMENT_DEPTH, own as ownDocument } from "../store/table.js";
export { abortable, type BackoffOptions, backoffDelay, type Deferred, deferred, sleep } from "../util/async.js";
export { ScopeCache } from "../util/scope-cache.js";
export { errorMessage, pause, withTimeout } from "./async.js";
export {
  asFleetEvent,
  checkSubscribe,
  decodeFleetEvent,
  GROUP_NAME,
  type PublisherOptions,
  RetryingPublisher,
  subscriptionOf,
} from "./bus.js";
export { type BusConsumer, DurableBusKit, type DurableBusKitOptions } from "./bus-kit.js";
export { BoundedMemo } from "./memo.js";
export {
  adapterLogger,
  adapterTag,
  isLogger,
  LOGGER_MESSAGE,
  type OptionIssue,
  optionsError,
  parseOptions,
  type SafeParser,
} from "./options.js";
export { noInstance, runtimeClosed } from "./runtime-kit.js";
export { checkSecretName, checkSecretRef, secretRefText } from "./secret-refs.js";
export {
  type SecretStoreSteps,
  type WritableSecretStore,
  type WritableSecretStoreOptions,
  writableSecretStore,
} from "./secret-store-kit.js";
