import { describe, expect, it } from "vitest";
import { childEnv } from "../src/child-env.js";

describe("childEnv", () => {
  const host = {
    PATH: "/opt/node/bin:/usr/bin",
    LANG: "C.UTF-8",
    NODE_EXTRA_CA_CERTS: "/etc/ssl/certs/ca-certificates.crt",
    SSL_CERT_FILE: "/etc/ssl/certs/ca-certificates.crt",
    FLEET_SECRETS_PASSPHRASE: "host-only-canary",
    AWS_SECRET_ACCESS_KEY: "host-only-canary",
    HTTPS_PROXY: "http://user:host-only-canary@proxy:3128",
  };

  it("passes the allowlist (search path, locale, TLS trust-store paths) and nothing else of the host", () => {
    const env = childEnv("/w/home", "/w/home/.tmp", undefined, { A: "1" }, { TOKEN: "s" }, host);
    expect(env).toEqual({
      PATH: "/opt/node/bin:/usr/bin",
      LANG: "C.UTF-8",
      NODE_EXTRA_CA_CERTS: "/etc/ssl/certs/ca-certificates.crt",
      SSL_CERT_FILE: "/etc/ssl/certs/ca-certificates.crt",
      HOME: "/w/home",
      TMPDIR: "/w/home/.tmp",
      npm_config_cache: "/w/home/.npm",
      A: "1",
      TOKEN: "s",
    });
    expect(JSON.stringify(env)).not.toContain("host-only-canary");
  });

  it("lets baseEnv, the spec's environment and secrets override in that order", () => {
    const env = childEnv("/h", "/t", { LANG: "base", B: "base" }, { B: "spec", C: "spec" }, { C: "secret" }, host);
    expect(env).toMatchObject({ LANG: "base", B: "spec", C: "secret" });
  });
});
