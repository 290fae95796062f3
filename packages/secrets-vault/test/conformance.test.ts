import { secretStoreConformance } from "@mcpfleet/core/testing";
import { afterAll } from "vitest";
import { vaultSecrets } from "../src/index.js";
import { FakeVault } from "./fake-vault.js";

const fake = await new FakeVault().start();
afterAll(() => fake.stop());

secretStoreConformance("vault (fake Vault, token auth)", () =>
  vaultSecrets({ address: fake.address, auth: { method: "token", token: "root-token" }, backoffMs: 1 }),
);
secretStoreConformance("vault (fake Vault, read cache on)", () =>
  vaultSecrets({
    address: fake.address,
    auth: { method: "token", token: "root-token" },
    backoffMs: 1,
    cacheTtlMs: 60_000,
  }),
);
