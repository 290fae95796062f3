import { secretStoreBehaviour, secretStoreConformance } from "@mcpfleet/core/testing";
import { describe } from "vitest";
import { infisicalSecrets } from "../src/index.js";

// Runs against a real Infisical when INFISICAL_SITE_URL, INFISICAL_CLIENT_ID, INFISICAL_CLIENT_SECRET and
// INFISICAL_PROJECT_ID are set (environment: INFISICAL_ENVIRONMENT, default `dev`).
// Not part of the CI requirement: a plain skipIf, not describeWith.
const env = process.env;
const enabled = Boolean(
  env.INFISICAL_SITE_URL && env.INFISICAL_CLIENT_ID && env.INFISICAL_CLIENT_SECRET && env.INFISICAL_PROJECT_ID,
);
const title = enabled
  ? `infisicalSecrets against the real Infisical at ${env.INFISICAL_SITE_URL}`
  : "infisicalSecrets against a real Infisical [skipped: set INFISICAL_SITE_URL, INFISICAL_CLIENT_ID, INFISICAL_CLIENT_SECRET, INFISICAL_PROJECT_ID to run]";

describe.skipIf(!enabled)(title, () => {
  const prefix = `/mcpfleet-test-${Date.now().toString(36)}`;
  const make = () =>
    infisicalSecrets({
      siteUrl: env.INFISICAL_SITE_URL!,
      auth: { clientId: env.INFISICAL_CLIENT_ID!, clientSecret: env.INFISICAL_CLIENT_SECRET! },
      projectId: env.INFISICAL_PROJECT_ID!,
      environment: env.INFISICAL_ENVIRONMENT ?? "dev",
      pathPrefix: prefix,
    });
  secretStoreBehaviour(make);
  secretStoreConformance(`infisical (real server)`, make);
});
