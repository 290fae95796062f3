import {
  AppsV1Api,
  type ConfigurationOptions,
  CoreV1Api,
  type KubeConfig,
  NetworkingV1Api,
  Observable,
  PatchStrategy,
  type RequestContext,
  type ResponseContext,
} from "@kubernetes/client-node";

/** Typed API clients for one KubeConfig. */
export interface K8sClients {
  kc: KubeConfig;
  apps: AppsV1Api;
  core: CoreV1Api;
  net: NetworkingV1Api;
}

export function makeClients(kc: KubeConfig): K8sClients {
  return {
    kc,
    apps: kc.makeApiClient(AppsV1Api),
    core: kc.makeApiClient(CoreV1Api),
    net: kc.makeApiClient(NetworkingV1Api),
  };
}

/**
 * Per-call configuration: passes the AbortSignal to the HTTP layer and, for server-side apply,
 * replaces the generated client's default patch Content-Type with `application/apply-patch+yaml`
 * (the JSON body is valid YAML).
 */
export function callOptions(signal: AbortSignal | undefined, apply = false): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          if (signal) ctx.setSignal(signal);
          if (apply) ctx.setHeaderParam("Content-Type", PatchStrategy.ServerSideApply);
          return new Observable(Promise.resolve(ctx));
        },
        post: (rsp: ResponseContext) => new Observable(Promise.resolve(rsp)),
      },
    ],
    middlewareMergeStrategy: "append",
  };
}
