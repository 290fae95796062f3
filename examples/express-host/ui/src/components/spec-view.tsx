import type { Instance } from "../api.js";
import { secretRefs } from "../secret-refs.js";

/**
 * The spec as the API returns it: secret values never reach the browser, only `secret_ref:` references,
 * which are listed apart so a reader sees what is secret.
 */
export function SpecView(props: { instance: Instance }) {
  const refs = secretRefs(props.instance.json_spec);
  return (
    <section aria-labelledby="spec-heading">
      <h2 id="spec-heading">Spec</h2>
      <pre class="spec" data-testid="spec">
        {JSON.stringify(props.instance.json_spec, null, 2)}
      </pre>
      <h3>Secrets</h3>
      {refs.length === 0 ? (
        <p>No secret references.</p>
      ) : (
        <table>
          <caption class="visually-hidden">Secret references (values stay in the secret store)</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Reference</th>
            </tr>
          </thead>
          <tbody>
            {refs.map((r) => (
              <tr key={r.path}>
                <td>
                  <code>{r.path}</code>
                </td>
                <td>
                  <code>{r.ref}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
