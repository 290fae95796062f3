import { runtimeConformance } from "@mcpfleet/core/testing";
import { kubernetesRuntime } from "../src/index.js";
import { FakeApiServer } from "./fake-apiserver/index.js";
import { dockerRequest } from "./helpers.js";

runtimeConformance(
  "kubernetes (fake API server)",
  async () => {
    const fake = await FakeApiServer.start({ namespaces: ["mcpfleet"] });
    const runtime = kubernetesRuntime({ kubeConfig: fake.kubeConfig(), namespace: "mcpfleet", watchRetryMs: 50 });
    return { runtime, cleanup: () => fake.close() };
  },
  {
    request: (id, variant) => dockerRequest(id, { variant }),
    crashingRequest: (id) => dockerRequest(id, { image: "registry.local/crashloop-server:1", variant: "b" }),
    readyTimeoutMs: 15_000,
  },
);
