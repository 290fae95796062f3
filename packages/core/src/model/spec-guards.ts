import type { AnyInstanceSpec, ContainerSpec, ProcessSpec, UrlSpec } from "./spec-types.js";

export const isContainerSpec = (s: AnyInstanceSpec): s is ContainerSpec => s.type === "docker";
export const isUrlSpec = (s: AnyInstanceSpec): s is UrlSpec => s.type === "url";
export const isProcessSpec = (s: AnyInstanceSpec): s is ProcessSpec => s.type === "process";

/** Environment as written (refs kept); url specs have none. */
export function specEnvironment(s: AnyInstanceSpec): Record<string, string> {
  return (s as { environment?: Record<string, string> }).environment ?? {};
}
