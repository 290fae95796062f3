import { describe, expect, it } from "vitest";
import { classifyHost } from "../../src/engine/address-class.js";
import { checkEndpoint } from "../../src/engine/endpoint-policy.js";
import { EndpointPolicy, FleetError } from "../../src/index.js";

const host = (url: string) => new URL(url).hostname;

describe("classifyHost", () => {
  it.each([
    // metadata, every spelling
    ["http://169.254.169.254/", "metadata"],
    ["http://2852039166/", "metadata"],
    ["http://0xa9fea9fe/", "metadata"],
    ["http://0251.0376.0251.0376/", "metadata"],
    ["http://[::ffff:169.254.169.254]/", "metadata"],
    ["http://[::ffff:a9fe:a9fe]/", "metadata"],
    ["http://[::169.254.169.254]/", "metadata"],
    ["http://[64:ff9b::a9fe:a9fe]/", "metadata"],
    ["http://[2002:a9fe:a9fe::1]/", "metadata"],
    ["http://[fd00:ec2::254]/", "metadata"],
    ["http://100.100.100.200/", "metadata"],
    ["http://metadata.google.internal/", "metadata"],
    ["http://METADATA.GOOGLE.INTERNAL/", "metadata"],
    ["http://metadata.google.internal./", "metadata"],
    ["http://metadata.google.internal../", "metadata"],
    // link-local
    ["http://169.254.1.1/", "link-local"],
    ["http://[fe80::1]/", "link-local"],
    ["http://[::ffff:169.254.1.1]/", "link-local"],
    // loopback
    ["http://127.0.0.1/", "loopback"],
    ["http://127.1/", "loopback"],
    ["http://2130706433/", "loopback"],
    ["http://0x7f000001/", "loopback"],
    ["http://0177.0.0.1/", "loopback"],
    ["http://127.0.0.1./", "loopback"],
    ["http://[::1]/", "loopback"],
    ["http://[::ffff:127.0.0.1]/", "loopback"],
    ["http://[::127.0.0.1]/", "loopback"],
    ["http://[64:ff9b::7f00:1]/", "loopback"],
    ["http://localhost/", "loopback"],
    ["http://LOCALHOST./", "loopback"],
    ["http://api.localhost/", "loopback"],
    // unspecified
    ["http://0.0.0.0/", "unspecified"],
    ["http://0/", "unspecified"],
    ["http://[::]/", "unspecified"],
    ["http://[::ffff:0.0.0.0]/", "unspecified"],
    // private
    ["http://10.1.2.3/", "private"],
    ["http://172.16.0.1/", "private"],
    ["http://192.168.1.1/", "private"],
    ["http://100.64.0.1/", "private"],
    ["http://[fd12:3456::1]/", "private"],
    ["http://[::ffff:10.0.0.1]/", "private"],
    // reserved
    ["http://224.0.0.1/", "reserved"],
    ["http://255.255.255.255/", "reserved"],
    ["http://[ff02::1]/", "reserved"],
    // public and names
    ["http://93.184.216.34/", "public"],
    ["http://[2606:4700::1111]/", "public"],
    ["http://example.com/", "name"],
  ])("%s is %s", (url, cls) => {
    expect(classifyHost(host(url)).class).toBe(cls);
  });
});

describe("EndpointPolicy", () => {
  const refusedCode = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      expect(FleetError.isInstance(err)).toBe(true);
      return { code: (err as FleetError).code, path: (err as FleetError).path };
    }
    return undefined;
  };

  it("refuses link-local and metadata whatever the allowlist says", () => {
    const p = new EndpointPolicy({ allow: ["loopback", "private", "169.254.0.0/16", "metadata.google.internal"] });
    for (const u of ["http://[::ffff:a9fe:a9fe]/", "http://metadata.google.internal./", "http://[fe80::1]/"]) {
      expect(refusedCode(() => p.checkUrl(u))).toEqual({ code: "ENDPOINT_REFUSED", path: "json_spec.endpoint" });
    }
    expect(refusedCode(() => p.checkUrl("http://127.0.0.1:1/"))).toBeUndefined();
  });

  it("allows loopback and private only through the allowlist (keywords, CIDRs, host names)", () => {
    const none = new EndpointPolicy();
    for (const u of ["http://127.1/", "http://[::ffff:127.0.0.1]/", "http://10.0.0.1/", "http://localhost/"]) {
      expect(refusedCode(() => none.checkUrl(u))?.code).toBe("ENDPOINT_REFUSED");
    }
    expect(refusedCode(() => none.checkUrl("https://example.com/mcp"))).toBeUndefined();
    const cidr = new EndpointPolicy({ allow: ["10.0.0.0/8", "::ffff:192.168.0.0/112"] });
    expect(refusedCode(() => cidr.checkUrl("http://10.9.9.9/"))).toBeUndefined();
    expect(refusedCode(() => cidr.checkUrl("http://[::ffff:10.9.9.9]/"))).toBeUndefined();
    expect(refusedCode(() => cidr.checkUrl("http://192.168.3.4/"))).toBeUndefined();
    expect(refusedCode(() => cidr.checkUrl("http://172.16.0.1/"))?.code).toBe("ENDPOINT_REFUSED");
    expect(refusedCode(() => cidr.checkUrl("http://127.0.0.1/"))?.code).toBe("ENDPOINT_REFUSED");
    const named = new EndpointPolicy({ allow: ["localhost"] });
    expect(refusedCode(() => named.checkUrl("http://localhost:3333/mcp"))).toBeUndefined();
    expect(refusedCode(() => named.checkUrl("http://127.0.0.1:3333/mcp"))?.code).toBe("ENDPOINT_REFUSED");
  });

  it("refuses a bad allowlist entry with OPTIONS_INVALID", () => {
    expect(() => new EndpointPolicy({ allow: ["10.0.0.0/99"] })).toThrow(/not a CIDR/);
    expect(() => new EndpointPolicy({ allow: ["not a host!"] })).toThrow(/loopback, private, a CIDR or a host name/);
  });

  it("checks every address a name resolves to at connect time", async () => {
    const p = new EndpointPolicy({
      resolver: async (name) =>
        name === "rebind.test"
          ? [
              { address: "93.184.216.34", family: 4 },
              { address: "127.0.0.1", family: 4 },
            ]
          : [{ address: "93.184.216.34", family: 4 }],
    });
    p.checkUrl("http://rebind.test/"); // a name passes the static check
    await expect(p.resolve("rebind.test")).rejects.toMatchObject({ code: "ENDPOINT_REFUSED" });
    await expect(p.resolve("fine.test")).resolves.toEqual([{ address: "93.184.216.34", family: 4 }]);
    const viaLookup = await new Promise<unknown>((resolve) => p.lookup("rebind.test", {}, (err) => resolve(err)));
    expect(viaLookup).toMatchObject({ code: "ENDPOINT_REFUSED" });
  });

  it("checkEndpoint keeps the boolean form (true = loopback and private allowed)", () => {
    expect(() => checkEndpoint("http://127.0.0.1/", true)).not.toThrow();
    expect(() => checkEndpoint("http://127.0.0.1/", false)).toThrow(/loopback/);
    expect(() => checkEndpoint("http://169.254.169.254/", true)).toThrow(/metadata/);
  });
});
