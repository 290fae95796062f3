export type { AggregatedItem } from "./aggregate-policy.js";
export { aggregatedCall, aggregatedDecision, aggregatedInstanceAllowed } from "./aggregate-policy.js";
export type { PolicyDecision } from "./decisions.js";
export { decisionsOf, recordDecision } from "./decisions.js";
export type { Decision, InstanceFacts, ItemKind } from "./evaluate.js";
export {
  callDecision,
  filtersLists,
  governedItem,
  instanceDecision,
  instanceFacts,
  itemDecision,
  requestDecision,
} from "./evaluate.js";
export { filterListResult } from "./list-filter.js";
export type { AccessPolicy, NameFilter } from "./policy-schema.js";
export { accessPolicySchema, nameFilterSchema, parseAccessPolicy } from "./policy-schema.js";
