import { FleetError } from "@mcpfleet/core";
import { z } from "zod";
import { ROLES } from "../auth/keys.js";
import type { ManagedKeys } from "../auth/managed-keys.js";
import type { Operation } from "../http/operation.js";

const CreateKey = z.strictObject({
  name: z.string().min(1).max(100),
  role: z.enum(ROLES),
  expires_at: z.iso.datetime({ offset: true, error: "must be an ISO 8601 date-time" }).nullable().optional(),
  /** An authorization policy (see README): validated when the key is created. */
  policy: z.record(z.string(), z.unknown()).nullable().optional(),
});

/** Managed API keys over REST (admin only): create (the key is shown once), list, get, revoke. */
export function keyOperations(managed: ManagedKeys | undefined): Operation[] {
  const need = (): ManagedKeys => {
    if (!managed)
      throw new FleetError("UNSUPPORTED", "managed API keys need AUTH=keys and a fleet store with a keys repository");
    return managed;
  };
  return [
    {
      id: "createApiKey",
      method: "post",
      path: "/v1/api-keys",
      role: "admin",
      tag: "auth",
      summary: "Create a managed API key (the key is in this answer only)",
      body: CreateKey,
      success: 201,
      handler: async ({ body, principal }) => {
        const { key, record } = await need().create(body as z.infer<typeof CreateKey>, principal.id);
        return { ...record, key };
      },
    },
    {
      id: "listApiKeys",
      method: "get",
      path: "/v1/api-keys",
      role: "admin",
      tag: "auth",
      summary: "List managed API keys (never the keys or their hashes)",
      handler: async () => ({ items: await need().list() }),
    },
    {
      id: "getApiKey",
      method: "get",
      path: "/v1/api-keys/:id",
      role: "admin",
      tag: "auth",
      summary: "One managed API key",
      handler: async ({ params }) => need().get(params.id!),
    },
    {
      id: "revokeApiKey",
      method: "delete",
      path: "/v1/api-keys/:id",
      role: "admin",
      tag: "auth",
      summary: "Revoke a managed API key (every replica refuses it within KEYS_CACHE_TTL_MS)",
      handler: async ({ params }) => need().revoke(params.id!),
    },
  ];
}
