import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import type { LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import { FleetError } from "../errors.js";
import {
  type AddressClass,
  ALWAYS_REFUSED,
  type ClassifiedHost,
  classifyAddress,
  classifyHost,
} from "./address-class.js";

/** Resolves a host name to every address (like `dns.lookup(host, { all: true })`). */
export type HostResolver = (hostname: string) => Promise<LookupAddress[]>;

export interface EndpointPolicyOptions {
  /**
   * What may be reached besides public addresses: `loopback`, `private`, CIDRs (`10.0.0.0/8`,
   * `fd12::/16`) and host names (their resolved addresses are allowed). Link-local, metadata,
   * unspecified and reserved addresses stay refused whatever this says.
   */
  allow?: readonly string[];
  /** Resolver used at connect time (default `dns.lookup`); tests inject one. */
  resolver?: HostResolver;
}

const systemResolver: HostResolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

function refused(message: string, path: string, host: string, cls: AddressClass): FleetError {
  return new FleetError("ENDPOINT_REFUSED", message, {
    path,
    isRetryable: false,
    details: { host, addressClass: cls },
  });
}

const WHY: Record<AddressClass, string> = {
  metadata: "a cloud metadata address",
  "link-local": "link-local",
  unspecified: "an unspecified address (0.0.0.0 or ::)",
  reserved: "in a reserved or special-purpose range",
  loopback: "a loopback address (allow it with the endpoint allowlist: loopback)",
  private: "a private address (allow it with the endpoint allowlist: private or a CIDR)",
  public: "public",
  name: "a host name",
};

/**
 * The SSRF policy for endpoints users supply (url specs). Hosts are normalised (WHATWG URL, then
 * ipaddr.js; IPv4-mapped/compatible/NAT64/6to4 forms unwrapped) and classified. Link-local, metadata,
 * unspecified and reserved addresses are always refused; loopback and private ones only through the
 * allowlist. Names are checked again on every address they resolve to when connecting
 * (`lookup`/`resolve`), so DNS rebinding cannot switch a name to a refused address.
 *
 * Endpoints a runtime reports for what it runs itself (stdio bridges, process ports, published
 * container ports) are trusted and never go through this policy.
 */
export class EndpointPolicy {
  private readonly keywords = new Set<string>();
  private readonly cidrs: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = [];
  private readonly hosts = new Set<string>();
  private readonly resolver: HostResolver;
  private readonly ownPorts = new Set<number>();
  /** The allowlist as given (normalised), for diagnostics. */
  readonly allow: readonly string[];

  constructor(options: EndpointPolicyOptions = {}) {
    this.resolver = options.resolver ?? systemResolver;
    const allow: string[] = [];
    for (const [i, raw] of (options.allow ?? []).entries()) {
      const entry = raw.trim().toLowerCase();
      if (!entry) continue;
      allow.push(entry);
      if (entry === "loopback" || entry === "private") this.keywords.add(entry);
      else if (entry.includes("/")) {
        try {
          const [addr, bits] = ipaddr.parseCIDR(entry);
          const mapped = addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress();
          this.cidrs.push(mapped ? [(addr as ipaddr.IPv6).toIPv4Address(), Math.max(0, bits - 96)] : [addr, bits]);
        } catch {
          throw new FleetError("OPTIONS_INVALID", `[mcpfleet/core] endpoint allowlist entry "${raw}" is not a CIDR`, {
            path: `endpointPolicy.allow.${i}`,
          });
        }
      } else if (/^[a-z0-9.-]+$/.test(entry) || classifyAddress(entry)) this.hosts.add(entry.replace(/\.+$/, ""));
      else
        throw new FleetError(
          "OPTIONS_INVALID",
          `[mcpfleet/core] endpoint allowlist entry "${raw}" must be loopback, private, a CIDR or a host name`,
          { path: `endpointPolicy.allow.${i}` },
        );
    }
    this.allow = allow;
  }

  /** Why this classified host may not be reached, or undefined when it may. `name` is the URL's host. */
  refusal(c: ClassifiedHost, name = c.host): string | undefined {
    if (ALWAYS_REFUSED.has(c.class)) return WHY[c.class];
    if (c.class === "public" || c.class === "name") return undefined;
    if (this.keywords.has(c.class) || this.hosts.has(name.toLowerCase().replace(/\.+$/, ""))) return undefined;
    if (c.address && this.cidrs.some(([net, bits]) => net.kind() === c.address!.kind() && c.address!.match(net, bits)))
      return undefined;
    if (c.address && this.hosts.has(c.address.toString())) return undefined;
    return WHY[c.class];
  }

  /** Checks a URL a user supplied (create, update, deploy). Throws SPEC_INVALID or ENDPOINT_REFUSED at `path`. */
  checkUrl(endpoint: string, path = "json_spec.endpoint"): URL {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new FleetError("SPEC_INVALID", "endpoint is not a URL", { path });
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new FleetError("SPEC_INVALID", "endpoint must be an http: or https: URL", { path });
    }
    const c = classifyHost(url.hostname);
    const why = this.refusal(c);
    if (why) throw refused(`endpoint host ${c.host} is ${why}`, path, c.host, c.class);
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    if ((c.class === "loopback" || c.class === "private") && this.ownPorts.has(port)) {
      throw refused(`endpoint ${c.host}:${port} is this fleet host's own API`, path, c.host, c.class);
    }
    return url;
  }

  /**
   * Refuses loopback and private addresses on this port even when allowlisted: the host serving the
   * fleet's API calls this with its own port once it listens.
   */
  refuseOwnPort(port: number): void {
    this.ownPorts.add(port);
  }

  /** Checks one address a host name resolved to. Throws ENDPOINT_REFUSED. */
  checkResolved(hostname: string, address: string, path = "endpoint"): void {
    const c = classifyAddress(address) ?? { host: address, class: "reserved" as const };
    const why = this.refusal(c, hostname);
    if (why) {
      throw refused(
        `endpoint host ${hostname} resolves to ${c.address?.toString() ?? address}, which is ${why}`,
        path,
        hostname,
        c.class,
      );
    }
  }

  /** Resolves a name and checks every address it has. */
  async resolve(hostname: string): Promise<LookupAddress[]> {
    const ip = classifyAddress(hostname);
    if (ip) {
      const why = this.refusal(ip);
      if (why) throw refused(`endpoint host ${ip.host} is ${why}`, "endpoint", ip.host, ip.class);
      return [{ address: ip.host, family: ip.address?.kind() === "ipv6" ? 6 : 4 }];
    }
    const addresses = await this.resolver(hostname);
    if (addresses.length === 0)
      throw new FleetError("RUNTIME_UNAVAILABLE", `endpoint host ${hostname} did not resolve`);
    for (const a of addresses) this.checkResolved(hostname, a.address);
    return addresses;
  }

  /** A `net.connect`/`http.Agent` lookup that refuses a name resolving to any refused address. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const all = typeof options === "object" && options !== null && (options as { all?: boolean }).all === true;
    const family =
      typeof options === "object" && options !== null ? (options as { family?: number }).family : undefined;
    this.resolve(hostname).then(
      (addresses) => {
        const usable = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
        if (usable.length === 0) {
          const err = Object.assign(new Error(`endpoint host ${hostname} has no IPv${family} address`), {
            code: "ENOTFOUND",
          });
          callback(err as NodeJS.ErrnoException, "", 0);
          return;
        }
        if (all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, "", 0),
    );
  };
}

/**
 * The policy from createFleet's options: `endpointPolicy` (an EndpointPolicy or its options), or the
 * deprecated `allowUnsafeEndpoints: true`, which now means `allow: ["loopback", "private"]`
 * (link-local and metadata addresses are refused whatever the configuration).
 */
export function endpointPolicyFrom(
  option: EndpointPolicy | EndpointPolicyOptions | undefined,
  allowUnsafe: boolean | undefined,
): EndpointPolicy {
  if (option instanceof EndpointPolicy) return option;
  const allow = [...(option?.allow ?? []), ...(allowUnsafe ? ["loopback", "private"] : [])];
  return new EndpointPolicy({ ...option, allow });
}
