import { type EndpointPolicy, endpointPolicyFrom } from "./address-policy.js";

/**
 * Refuses a url endpoint the policy does not allow (SSRF): link-local and metadata addresses always,
 * loopback and private ones unless allowlisted. `true` (the deprecated `allowUnsafeEndpoints`) means
 * loopback and private allowed.
 */
export function checkEndpoint(endpoint: string, policy: EndpointPolicy | boolean): void {
  const p = typeof policy === "boolean" ? endpointPolicyFrom(undefined, policy) : policy;
  p.checkUrl(endpoint, "json_spec.endpoint");
}
