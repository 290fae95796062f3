/**
 * gateway-overhead-jwt-policy: the gateway-overhead benchmark with its JWT-authenticated,
 * policy-checked row (bearer JWT verified by the host's OIDC verifier with jose against a local
 * issuer's discovery document and JWKS, a tool and instance policy on the principal). Prints one
 * line: that row beside the unauthenticated gateway row measured in the same rounds.
 */
process.env.GATEWAY_OVERHEAD_ROW = "jwt-policy";
await import("./gateway-overhead.js");
