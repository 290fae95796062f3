import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import Provider from "oidc-provider";

export const CLIENT = { id: "agent", secret: "agent-secret-0123456789abcdef0123" };

/**
 * A real OpenID provider (oidc-provider, a certified OP) in this process: one client with the
 * client_credentials grant, JWT access tokens whose audience is the requested resource (RFC 8707),
 * and signing keys that rotate (`rotate()` puts a new key first and keeps the old one published).
 */
export async function startProvider(options: { scope: string; claims?: Record<string, unknown> }) {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, s) => s.end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const newKey = async (kid: string) => {
    const { privateKey } = await generateKeyPair("RS256", { extractable: true });
    return { ...(await exportJWK(privateKey)), kid, alg: "RS256", use: "sig" } as JWK;
  };
  let keys: JWK[] = [await newKey("key-1")];
  const build = () => {
    const provider = new Provider(issuer, {
      cookies: { keys: [randomBytes(32).toString("hex")] },
      clients: [
        {
          client_id: CLIENT.id,
          client_secret: CLIENT.secret,
          grant_types: ["client_credentials"],
          redirect_uris: [],
          response_types: [],
          scope: options.scope,
        },
      ],
      jwks: { keys: keys as never },
      scopes: options.scope.split(" "),
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => "urn:mcpfleet:unset",
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, resource: string) => ({
            scope: options.scope,
            audience: resource,
            accessTokenTTL: 300,
            accessTokenFormat: "jwt",
            jwt: { sign: { alg: "RS256" } },
          }),
        },
      },
      extraTokenClaims: () => options.claims ?? {},
    });
    const cb = provider.callback();
    handler = (req, res) => void cb(req, res);
  };
  build();
  return {
    issuer,
    /** The current signing key (private JWK), for tokens the tests forge with it. */
    signingKey: () => keys[0]!,
    async rotate() {
      keys = [await newKey(`key-${keys.length + 1}`), ...keys];
      build();
    },
    /** A client_credentials access token for `resource`. */
    async token(resource: string, scope = options.scope): Promise<string> {
      const res = await fetch(`${issuer}/token`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString("base64")}`,
        },
        body: new URLSearchParams({ grant_type: "client_credentials", resource, scope }),
      });
      const body = (await res.json()) as { access_token?: string; error?: string; error_description?: string };
      if (!body.access_token) throw new Error(`token endpoint: ${body.error}: ${body.error_description}`);
      return body.access_token;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
