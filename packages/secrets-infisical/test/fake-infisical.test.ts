import { InfisicalSDK } from "@infisical/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeInfisical } from "./fake-infisical.js";

// The fake refuses what Infisical refuses; checked with raw HTTP and with @infisical/sdk itself.
describe("the fake Infisical", () => {
  const fake = new FakeInfisical({ tokenTtl: 60 });
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  const q = "workspaceId=proj-1&environment=dev&secretPath=%2F";

  it("answers 401 without a bearer token, with an unknown one, and with an expired one", async () => {
    const none = await fetch(`${fake.url}/api/v3/secrets/raw?${q}`);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ statusCode: 401, error: "UnauthorizedError" });
    const bad = await fetch(`${fake.url}/api/v3/secrets/raw?${q}`, { headers: { Authorization: "Bearer nope" } });
    expect(bad.status).toBe(401);
    const sdk = new InfisicalSDK({ siteUrl: fake.url });
    await sdk.auth().universalAuth.login({ clientId: "client-id-1", clientSecret: "client-secret-1" });
    fake.clockOffset += 61_000;
    await expect(sdk.secrets().listSecrets({ projectId: "proj-1", environment: "dev" })).rejects.toThrow(
      /StatusCode=401/,
    );
    fake.clockOffset = 0;
  });

  it("answers unknown routes and methods like Fastify, and 422 for missing parameters", async () => {
    const sdk = new InfisicalSDK({ siteUrl: fake.url });
    await sdk.auth().universalAuth.login({ clientId: "client-id-1", clientSecret: "client-secret-1" });
    const token = sdk.auth().getAccessToken();
    const put = await fetch(`${fake.url}/api/v3/secrets/raw/A`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(put.status).toBe(404);
    expect((await put.json()).message).toBe("Route PUT:/api/v3/secrets/raw/A not found");
    const missing = await fetch(`${fake.url}/api/v3/secrets/raw`, { headers: { Authorization: `Bearer ${token}` } });
    expect(missing.status).toBe(422);
  });

  it("serves the SDK's secrets and folders calls, refusing duplicates and missing folders", async () => {
    const sdk = new InfisicalSDK({ siteUrl: fake.url });
    await sdk.auth().universalAuth.login({ clientId: "client-id-1", clientSecret: "client-secret-1" });
    const base = { projectId: "proj-1", environment: "dev" };
    await expect(sdk.secrets().createSecret("A", { ...base, secretPath: "/f", secretValue: "1" })).rejects.toThrow(
      /StatusCode=404\] Folder with path '\/f'/,
    );
    await sdk.folders().create({ ...base, name: "f", path: "/" });
    await sdk.secrets().createSecret("A", { ...base, secretPath: "/f", secretValue: "1" });
    await expect(sdk.secrets().createSecret("A", { ...base, secretPath: "/f", secretValue: "2" })).rejects.toThrow(
      /StatusCode=400\] Secret already exist/,
    );
    await sdk.secrets().updateSecret("A", { ...base, secretPath: "/f", secretValue: "2" });
    const got = await sdk.secrets().getSecret({ ...base, secretPath: "/f", secretName: "A" });
    expect(got.secretValue).toBe("2");
    const listed = await sdk.secrets().listSecrets({ ...base, secretPath: "/f", viewSecretValue: false });
    expect(listed.secrets.map((s) => [s.secretKey, s.secretValueHidden])).toEqual([["A", true]]);
    await sdk.secrets().deleteSecret("A", { ...base, secretPath: "/f" });
    await expect(sdk.secrets().getSecret({ ...base, secretPath: "/f", secretName: "A" })).rejects.toThrow(
      /StatusCode=404/,
    );
  });

  it("refuses a project the identity is not in with 403", async () => {
    const sdk = new InfisicalSDK({ siteUrl: fake.url });
    await sdk.auth().universalAuth.login({ clientId: "client-id-1", clientSecret: "client-secret-1" });
    await expect(sdk.secrets().listSecrets({ projectId: "someone-else", environment: "dev" })).rejects.toThrow(
      /StatusCode=403/,
    );
  });
});
