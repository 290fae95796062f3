import { readFileSync } from "node:fs";
import { secretStoreBehaviour, secretStoreConformance } from "@mcpfleet/core/testing";
import { describe } from "vitest";
import { vaultSecrets } from "../src/index.js";

// Runs against a real Vault when VAULT_ADDR and VAULT_TOKEN are set (e.g. `vault server -dev`).
// Not part of the CI requirement: a plain skipIf, not describeWith.
const addr = process.env.VAULT_ADDR;
const token = process.env.VAULT_TOKEN;
const enabled = Boolean(addr && token);
const title = enabled
  ? `vaultSecrets against the real Vault at ${addr}`
  : "vaultSecrets against a real Vault [skipped: set VAULT_ADDR and VAULT_TOKEN to run]";

describe.skipIf(!enabled)(title, () => {
  const prefix = `mcpfleet-test/${Date.now().toString(36)}`;
  const make = () =>
    vaultSecrets({
      address: addr!,
      auth: { method: "token", token: token! },
      mount: process.env.VAULT_KV_MOUNT ?? "secret",
      prefix,
      ...(process.env.VAULT_NAMESPACE ? { namespace: process.env.VAULT_NAMESPACE } : {}),
      ...(process.env.VAULT_CACERT ? { tls: { ca: readFileSync(process.env.VAULT_CACERT) } } : {}),
    });
  secretStoreBehaviour(make);
  secretStoreConformance(`vault (real server)`, make);
});
