import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { observe } from "./observe.js";

const dep = (status: V1Deployment["status"], replicas = 1): V1Deployment => ({
  metadata: {
    generation: 2,
    annotations: { "mcpfleet.io/instance-id": "i", "mcpfleet.io/spec-hash": "h", "mcpfleet.io/generation": "3" },
  },
  spec: {
    replicas,
    selector: {},
    template: { spec: { containers: [{ name: "mcp", ports: [{ containerPort: 80 }] }] } },
  },
  status,
});
const pod = (waiting?: { reason: string; message?: string }): V1Pod => ({
  metadata: { name: "p", labels: { "mcpfleet.spec-hash": "h" } },
  status: {
    phase: "Pending",
    containerStatuses: [
      { name: "mcp", image: "x", imageID: "", ready: false, restartCount: 0, state: waiting ? { waiting } : {} },
    ],
  },
});

describe("observe", () => {
  it("is running only when the current generation is rolled out and ready", () => {
    expect(
      observe(dep({ observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1 }), [], {}).phase,
    ).toBe("starting");
    const ok = observe(dep({ observedGeneration: 2, replicas: 1, updatedReplicas: 1, readyReplicas: 1 }), [], {});
    expect(ok).toMatchObject({ phase: "running", instanceId: "i", specHash: "h", generation: 3 });
  });

  it("maps waiting reasons: image pulls are permanent, crash loops are not, a missing Secret is a start-up race", () => {
    const s = { observedGeneration: 2, replicas: 1, updatedReplicas: 1 };
    expect(observe(dep(s), [pod({ reason: "ErrImagePull" })], {})).toMatchObject({ phase: "failed", permanent: true });
    expect(observe(dep(s), [pod({ reason: "CrashLoopBackOff" })], {})).toMatchObject({
      phase: "failed",
      permanent: false,
    });
    const race = pod({ reason: "CreateContainerConfigError", message: 'secret "mcp-i" not found' });
    expect(observe(dep(s), [race], {}).phase).toBe("starting");
    const root = pod({
      reason: "CreateContainerConfigError",
      message: "container has runAsNonRoot and image will run as root",
    });
    expect(observe(dep(s), [root], {})).toMatchObject({
      phase: "failed",
      reason: expect.stringContaining("runAsNonRoot"),
    });
  });

  it("reports zero replicas as exited", () => {
    expect(observe(dep({}, 0), [], {}).phase).toBe("exited");
  });
});
