import ipaddr from "ipaddr.js";

/**
 * What an endpoint host is, for the SSRF policy:
 * - `metadata`: cloud instance metadata services (169.254.169.254, 100.100.100.200, fd00:ec2::254,
 *   metadata.google.internal, ...): always refused.
 * - `link-local`: 169.254.0.0/16, fe80::/10: always refused.
 * - `unspecified`: 0.0.0.0/8, `::` (connecting there reaches the local host): always refused.
 * - `reserved`: multicast, broadcast, documentation, Teredo and other special-purpose ranges: always refused.
 * - `loopback`: 127.0.0.0/8, ::1, `localhost` and `*.localhost`: only through the allowlist.
 * - `private`: RFC 1918, 100.64.0.0/10 (carrier-grade NAT), fc00::/7 (ULA), fec0::/10: only through the allowlist.
 * - `public`: anything else.
 * - `name`: a DNS name; what it resolves to is checked at connect time.
 */
export type AddressClass =
  | "metadata"
  | "link-local"
  | "unspecified"
  | "reserved"
  | "loopback"
  | "private"
  | "public"
  | "name";

export interface ClassifiedHost {
  /** The host as checked: lowercase, without brackets or trailing dots. */
  host: string;
  /** The IP address the host denotes (IPv4-mapped, -compatible, NAT64 and 6to4 forms unwrapped). */
  address?: ipaddr.IPv4 | ipaddr.IPv6;
  class: AddressClass;
}

const METADATA_NAMES = new Set([
  "metadata.google.internal",
  "metadata.goog",
  "metadata",
  "metadata.azure.com",
  "instance-data",
  "instance-data.ec2.internal",
]);
const METADATA_V4 = new Set(["169.254.169.254", "169.254.170.2", "169.254.169.253", "100.100.100.200"]);
const METADATA_V6 = new Set(["fd00:ec2::254", "fd00:ec2::23"]);

function classifyV4(a: ipaddr.IPv4): AddressClass {
  if (METADATA_V4.has(a.toString())) return "metadata";
  switch (a.range()) {
    case "unspecified":
      return "unspecified";
    case "linkLocal":
      return "link-local";
    case "loopback":
      return "loopback";
    case "private":
    case "carrierGradeNat":
      return "private";
    case "broadcast":
    case "multicast":
    case "reserved":
      return "reserved";
    default:
      return "public";
  }
}

/** The IPv4 address an IPv6 address carries (mapped, compatible, SIIT, NAT64, 6to4), if any. */
function embeddedV4(a: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = a.parts;
  const tail = () => new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff]);
  const range = a.range();
  if (range === "ipv4Mapped" || range === "rfc6145" || range === "rfc6052") return tail();
  // IPv4-compatible (deprecated ::a.b.c.d): the first 96 bits are zero; :: and ::1 are themselves
  if (p.slice(0, 6).every((x) => x === 0) && !(p[6] === 0 && (p[7] === 0 || p[7] === 1))) return tail();
  // NAT64 local-use prefix 64:ff9b:1::/48
  if (p[0] === 0x64 && p[1] === 0xff9b && p[2] === 1) return tail();
  if (range === "6to4") return new ipaddr.IPv4([p[1]! >> 8, p[1]! & 0xff, p[2]! >> 8, p[2]! & 0xff]);
  return undefined;
}

function classifyV6(a: ipaddr.IPv6): { address: ipaddr.IPv4 | ipaddr.IPv6; class: AddressClass } {
  const v4 = embeddedV4(a);
  if (v4) return { address: v4, class: classifyV4(v4) };
  if (METADATA_V6.has(a.toString())) return { address: a, class: "metadata" };
  if ((a.parts[0]! & 0xffc0) === 0xfec0) return { address: a, class: "private" }; // deprecated site-local
  switch (a.range()) {
    case "unspecified":
      return { address: a, class: "unspecified" };
    case "linkLocal":
      return { address: a, class: "link-local" };
    case "loopback":
      return { address: a, class: "loopback" };
    case "uniqueLocal":
      return { address: a, class: "private" };
    case "unicast":
      return { address: a, class: "public" };
    default:
      return { address: a, class: "reserved" };
  }
}

/** Classifies an IP address string (any form ipaddr.js accepts, brackets allowed). */
export function classifyAddress(address: string): ClassifiedHost | undefined {
  const host = address.replace(/^\[|\]$/g, "").toLowerCase();
  if (!ipaddr.isValid(host)) return undefined;
  const parsed = ipaddr.parse(host);
  if (parsed.kind() === "ipv4") return { host, address: parsed, class: classifyV4(parsed as ipaddr.IPv4) };
  return { host, ...classifyV6(parsed as ipaddr.IPv6) };
}

/**
 * Classifies a URL host (`new URL(..).hostname`, so WHATWG-normalised: `127.1`, `2130706433` and
 * `0x7f000001` are already `127.0.0.1`). Names are lowercased and stripped of trailing dots.
 */
export function classifyHost(hostname: string): ClassifiedHost {
  const ip = classifyAddress(hostname);
  if (ip) return ip;
  const host = hostname.toLowerCase().replace(/\.+$/, "");
  if (METADATA_NAMES.has(host)) return { host, class: "metadata" };
  if (host === "localhost" || host.endsWith(".localhost")) return { host, class: "loopback" };
  // a name that is an IP once its trailing dot is gone (`127.0.0.1.`)
  const again = classifyAddress(host);
  if (again) return again;
  return { host, class: "name" };
}

/** Ranges no allowlist opens. */
export const ALWAYS_REFUSED: ReadonlySet<AddressClass> = new Set(["metadata", "link-local", "unspecified", "reserved"]);
