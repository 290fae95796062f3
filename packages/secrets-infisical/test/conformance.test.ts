import { secretStoreConformance } from "@mcpfleet/core/testing";
import { afterAll } from "vitest";
import { infisicalSecrets } from "../src/index.js";
import { FakeInfisical } from "./fake-infisical.js";

const fake = await new FakeInfisical().start();
afterAll(() => fake.stop());

const base = {
  auth: { clientId: "client-id-1", clientSecret: "client-secret-1" },
  projectId: "proj-1",
  environment: "dev",
  backoffMs: 1,
};
secretStoreConformance("infisical (fake Infisical)", () => infisicalSecrets({ siteUrl: fake.url, ...base }));
secretStoreConformance("infisical (fake Infisical, read cache on)", () =>
  infisicalSecrets({ siteUrl: fake.url, ...base, cacheTtlMs: 60_000 }),
);
