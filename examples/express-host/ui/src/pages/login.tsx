import { useState } from "preact/hooks";
import { api } from "../api.js";
import { ErrorBox } from "../components/common.js";
import type { Who } from "../session.js";

/** API-key login: the key is checked with GET /v1/whoami and kept in sessionStorage (this tab only). */
export function LoginPage(props: { onLogin(who: Who, key: string): void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  return (
    <main id="main" class="login">
      <h1>mcpfleet dashboard</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          try {
            const who = await api<Who>("/v1/whoami", { key: key.trim() });
            props.onLogin(who, key.trim());
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          required
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          aria-describedby="api-key-help"
        />
        <p id="api-key-help" class="help">
          The key the host printed at first start, or one from <code>API_KEYS</code>. It stays in this tab only.
        </p>
        <button type="submit" disabled={busy}>
          Log in
        </button>
        <ErrorBox error={error} />
      </form>
    </main>
  );
}
