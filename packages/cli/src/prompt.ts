import { CliError, EXIT } from "./errors.js";

/**
 * Asks for a secret on the terminal without echoing it: the prompt goes to stderr, the typed
 * characters are read in raw mode and never written anywhere. Ctrl-C aborts (exit 130).
 */
export function promptSecret(label: string, input: NodeJS.ReadStream = process.stdin): Promise<string> {
  if (!input.isTTY) throw new CliError("USAGE", `${label}: no terminal to prompt on`, { exitCode: EXIT.USAGE });
  process.stderr.write(`${label}: `);
  return new Promise((resolve, reject) => {
    let value = "";
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.resume();
    input.setEncoding("utf8");
    const done = (err?: Error) => {
      input.off("data", onData);
      input.setRawMode(wasRaw);
      input.pause();
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new CliError("INTERRUPTED", "cancelled", { exitCode: EXIT.INTERRUPTED }));
        if (ch === "\u0004" && value === "") return done();
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else if (ch >= " ") value += ch;
      }
    };
    input.on("data", onData);
  });
}

/** All of stdin as text. */
export async function readStdin(input: NodeJS.ReadStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of input) chunks.push(typeof c === "string" ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Values of the named secrets: prompted without echo on a terminal; otherwise read from stdin
 * (one secret: all of stdin without its final newline; several: `NAME=value` lines).
 */
export async function readSecrets(names: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (names.length === 0) return out;
  if (process.stdin.isTTY) {
    for (const n of names) out[n] = await promptSecret(`secret ${n}`);
  } else {
    const text = await readStdin();
    if (names.length === 1) out[names[0]!] = text.replace(/\r?\n$/, "");
    else
      for (const line of text.split(/\r?\n/)) {
        const i = line.indexOf("=");
        if (i > 0 && names.includes(line.slice(0, i))) out[line.slice(0, i)] = line.slice(i + 1);
      }
  }
  const missing = names.filter((n) => !out[n]);
  if (missing.length > 0)
    throw new CliError("SPEC_INVALID", `no value given for secret ${missing.join(", ")}`, {
      issues: missing.map((n) => ({ path: `secrets.${n}`, message: "no value given" })),
    });
  return out;
}
