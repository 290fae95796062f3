/** Separator between instance name and tool / prompt name in aggregated names (default `__`). */
export const TOOL_SEPARATOR = "__";

/** Scheme of aggregated resource URIs: `mcpfleet:<instance>/<the instance's own URI>`. */
export const RESOURCE_SCHEME = "mcpfleet:";

export interface Namespacer {
  name(instance: string, name: string): string;
  /** Splits an aggregated name at the first separator: [instance, name], or undefined. */
  splitName(aggregated: string): [string, string] | undefined;
  uri(instance: string, uri: string): string;
  splitUri(aggregated: string): [string, string] | undefined;
}

/**
 * Names of the aggregated endpoint. Instance names never hold the separator (the engine refuses `__`
 * in names) nor `/`, so splitting at the first separator or slash is unambiguous.
 */
export function namespacer(separator = TOOL_SEPARATOR): Namespacer {
  return {
    name: (instance, name) => `${instance}${separator}${name}`,
    splitName(aggregated) {
      const i = aggregated.indexOf(separator);
      if (i <= 0 || i + separator.length >= aggregated.length) return undefined;
      return [aggregated.slice(0, i), aggregated.slice(i + separator.length)];
    },
    uri: (instance, uri) => `${RESOURCE_SCHEME}${instance}/${uri}`,
    splitUri(aggregated) {
      if (!aggregated.startsWith(RESOURCE_SCHEME)) return undefined;
      const rest = aggregated.slice(RESOURCE_SCHEME.length);
      const i = rest.indexOf("/");
      if (i <= 0 || i + 1 >= rest.length) return undefined;
      return [rest.slice(0, i), rest.slice(i + 1)];
    },
  };
}
