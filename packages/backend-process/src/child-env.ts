/**
 * Host variables a child may see (locale, time zone, terminal, search path, and where the host's TLS
 * trust store lives: without those a Node from outside the distribution, e.g. under `npx -y` behind
 * an inspecting proxy, cannot reach the npm registry); nothing else of the host's environment.
 */
const ALLOWED = [
  "PATH",
  "LANG",
  "LANGUAGE",
  "LC_ALL",
  "LC_CTYPE",
  "LC_MESSAGES",
  "TZ",
  "TERM",
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
];
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * A child's environment: the allowlisted host variables, HOME and TMPDIR of its sandbox, the
 * runtime's `baseEnv`, then the instance's environment and secrets. Never the host's other
 * variables (API keys, passphrases, tokens).
 */
export function childEnv(
  home: string,
  tmp: string,
  baseEnv: Record<string, string> | undefined,
  specEnv: Record<string, string>,
  secrets: Record<string, string>,
  host: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = { PATH: DEFAULT_PATH };
  for (const k of ALLOWED) {
    const v = host[k];
    if (typeof v === "string" && v !== "") env[k] = v;
  }
  env.HOME = home;
  env.TMPDIR = tmp;
  env.npm_config_cache = `${home}/.npm`;
  return { ...env, ...baseEnv, ...specEnv, ...secrets };
}
