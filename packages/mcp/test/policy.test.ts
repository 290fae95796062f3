import { FleetError } from "@mcpfleet/core";
import { describe, expect, it } from "vitest";
import {
  type AccessPolicy,
  aggregatedCall,
  aggregatedDecision,
  type InstanceFacts,
  instanceFacts,
  parseAccessPolicy,
  requestDecision,
} from "../src/index.js";

const gh: InstanceFacts = instanceFacts({
  id: "i-1",
  name: "github-prod",
  server_spec_id: "srv-github",
  json_spec: { type: "docker", image: "x", labels: { team: "payments" }, tools: { deny: ["delete_*"] } },
});
const fs: InstanceFacts = instanceFacts({
  id: "i-2",
  name: "files",
  server_spec_id: null,
  json_spec: { type: "url", endpoint: "http://x" },
});

const P = {
  none: undefined,
  ghOnly: { instances: { names: ["github-*"] } },
  team: { instances: { labels: { team: "payments" } } },
  server: { instances: { servers: ["srv-git*"] } },
  tools: { tools: { allow: ["list_*", "get_*", "create_issue"], deny: ["get_secret*"] } },
  ro: { read_only: true },
  prompts: { prompts: { deny: ["admin*"] }, resources: { allow: ["file:///public/**"] } },
} satisfies Record<string, AccessPolicy | undefined>;

const call = (name: string) => ({ method: "tools/call", params: { name } });
type Row = [keyof typeof P, InstanceFacts, { method: string; params: Record<string, unknown> }, boolean, string?];
const hints: Record<string, boolean> = { list_repos: true, create_issue: false };

// policy, instance, request, allowed, reason (substring)
const table: Row[] = [
  ["none", gh, call("create_issue"), true],
  ["none", gh, call("delete_repo"), false, "instance's tool filter"],
  ["none", fs, call("delete_everything"), true],
  ["ghOnly", gh, call("create_issue"), true],
  ["ghOnly", fs, call("read"), false, "instance name"],
  ["ghOnly", fs, { method: "initialize", params: {} }, false, "instance name"],
  ["team", gh, { method: "tools/list", params: {} }, true],
  ["team", fs, { method: "tools/list", params: {} }, false, "label team=payments"],
  ["server", gh, call("list_repos"), true],
  ["server", fs, call("list_repos"), false, "server"],
  ["tools", gh, call("list_repos"), true],
  ["tools", gh, call("create_issue"), true],
  ["tools", gh, call("get_secret_value"), false, "denied by the policy"],
  ["tools", gh, call("merge_pr"), false, "allow list"],
  ["tools", gh, call("delete_repo"), false, "instance's tool filter"],
  ["ro", gh, call("list_repos"), true],
  ["ro", gh, call("create_issue"), false, "read-only"],
  ["ro", gh, call("never_listed"), false, "read-only"],
  ["ro", gh, { method: "resources/read", params: { uri: "file:///a" } }, true],
  ["prompts", fs, { method: "prompts/get", params: { name: "admin-reset" } }, false, "prompt denied"],
  ["prompts", fs, { method: "prompts/get", params: { name: "summary" } }, true],
  ["prompts", fs, { method: "resources/read", params: { uri: "file:///public/docs/a.md" } }, true],
  ["prompts", fs, { method: "resources/read", params: { uri: "file:///etc/passwd" } }, false, "resource not in"],
  [
    "prompts",
    fs,
    { method: "completion/complete", params: { ref: { type: "ref/prompt", name: "admin-x" } } },
    false,
    "prompt denied",
  ],
];

describe("policy evaluation table", () => {
  it.each(table)("%s on %s: %j -> %s", (policy, inst, req, allowed, reason) => {
    const d = requestDecision(P[policy], inst, req.method, req.params, (t) => hints[t]);
    expect(d.allowed).toBe(allowed);
    if (reason) expect(d.reason).toContain(reason);
  });

  it("filters aggregated items by the upstream name and the instance", () => {
    const ghInst = {
      id: gh.id,
      name: gh.name,
      server_spec_id: gh.serverId,
      json_spec: { tools: { deny: ["delete_*"] } },
    };
    const fsInst = { id: fs.id, name: fs.name, server_spec_id: fs.serverId, json_spec: {} };
    const entries = [
      { name: "github-prod__list_repos", kind: "tool" as const, instance: ghInst, own: "list_repos" },
      { name: "github-prod__delete_repo", kind: "tool" as const, instance: ghInst, own: "delete_repo" },
      { name: "files__read", kind: "tool" as const, instance: fsInst, own: "read", readOnlyHint: true },
      { name: "files__wipe", kind: "tool" as const, instance: fsInst, own: "wipe" },
      { name: "files__admin-reset", kind: "prompt" as const, instance: fsInst, own: "admin-reset" },
    ];
    const names = (p: AccessPolicy | undefined) =>
      entries
        .filter((e) => aggregatedDecision(p ? { id: "k", role: "operator", policy: p } : undefined, e).allowed)
        .map((e) => e.name);
    // the instance's own filter holds for everyone, a principal without policy included
    expect(names(undefined)).toEqual(["github-prod__list_repos", "files__read", "files__wipe", "files__admin-reset"]);
    expect(names(P.ghOnly)).toEqual(["github-prod__list_repos"]);
    expect(names(P.ro)).toEqual(["files__read", "files__admin-reset"]);
    expect(names(P.prompts)).toEqual(["github-prod__list_repos", "files__read", "files__wipe"]);
    expect(names({ tools: { deny: ["w*"] } })).toEqual([
      "github-prod__list_repos",
      "files__read",
      "files__admin-reset",
    ]);
  });

  it("names the policy in an aggregated refusal and audits only what a policy governed", () => {
    const inst = { id: "i", name: "files", server_spec_id: null, json_spec: {} };
    const entry = { kind: "tool" as const, instance: inst, own: "wipe" };
    const denied = aggregatedCall(
      { id: "k1", role: "operator", policy: { name: "ci-readers", read_only: true } },
      "tools/call",
      "files__wipe",
      entry,
    );
    expect(denied.decision.allowed).toBe(false);
    expect(denied.refusal).toContain('policy "ci-readers"');
    expect(denied.record).toMatchObject({ instance: "files", item: "files__wipe", allowed: false });
    const free = aggregatedCall({ id: "k2", role: "operator" }, "tools/call", "files__wipe", entry);
    expect(free.decision.allowed).toBe(true);
    expect(free.record).toBeUndefined();
  });

  it("refuses a malformed policy with a SPEC_INVALID naming the path", () => {
    for (const [bad, path] of [
      [{ tools: { allow: "x" } }, "policy.tools.allow"],
      [{ instances: { names: [""] } }, "policy.instances.names.0"],
      [{ read_only: "yes" }, "policy.read_only"],
      [{ tool: {} }, "policy"],
    ] as const) {
      try {
        parseAccessPolicy(bad);
        expect.unreachable();
      } catch (err) {
        expect(FleetError.isInstance(err)).toBe(true);
        expect((err as FleetError).code).toBe("SPEC_INVALID");
        expect((err as FleetError).path).toBe(path);
      }
    }
  });
});
