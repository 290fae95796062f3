import { FleetError } from "@mcpfleet/core";
import { z } from "zod";

const pattern = z
  .string({ error: "must be a name or glob pattern" })
  .min(1, { error: "must not be empty" })
  .max(500, { error: "must be at most 500 characters" });
const patterns = z.array(pattern, { error: "must be a list of glob patterns" }).max(256);

/** `allow` globs (absent: everything), then `deny` globs (a deny always wins). */
export const nameFilterSchema = z.strictObject(
  { allow: patterns.optional(), deny: patterns.optional() },
  { error: "must be an object {allow, deny} of glob patterns" },
);

/**
 * What a principal (managed key or token) may reach through the gateway. Every part is optional;
 * an absent part limits nothing. The instance conditions all hold together (name AND labels AND server).
 */
export const accessPolicySchema = z.strictObject(
  {
    /** Shown in refusals and audit lines (the host names the policy after its key or binding when absent). */
    name: z.string().min(1).max(100).optional(),
    instances: z
      .strictObject(
        {
          /** Instance name (or id) globs. */
          names: patterns.optional(),
          /** Labels the instance spec must carry with exactly these values. */
          labels: z.record(z.string().min(1).max(253), z.string().max(4096)).optional(),
          /** Server definition id globs (`server_spec_id`). */
          servers: patterns.optional(),
        },
        { error: "must be an object {names, labels, servers}" },
      )
      .optional(),
    tools: nameFilterSchema.optional(),
    prompts: nameFilterSchema.optional(),
    /** Resource URI globs. */
    resources: nameFilterSchema.optional(),
    /** Only tools annotated `readOnlyHint: true` may be called (lists, reads and prompts stay allowed). */
    read_only: z.boolean({ error: "must be a boolean" }).optional(),
  },
  { error: "must be a policy object" },
);

export type AccessPolicy = z.infer<typeof accessPolicySchema>;
export type NameFilter = z.infer<typeof nameFilterSchema>;

/** Validates a policy; throws `SPEC_INVALID` with every issue (paths under `at`). */
export function parseAccessPolicy(value: unknown, at = "policy"): AccessPolicy {
  const r = accessPolicySchema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ path: [at, ...i.path.map(String)].join("."), message: i.message }));
  throw new FleetError("SPEC_INVALID", `invalid policy: ${issues[0]!.path}: ${issues[0]!.message}`, {
    path: issues[0]!.path,
    issues,
    isRetryable: false,
  });
}
