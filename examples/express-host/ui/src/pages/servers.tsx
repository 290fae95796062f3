import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { ErrorBox, PageHeading } from "../components/common.js";

interface ServerDefinition {
  id: string;
  name: string;
  description?: string;
  version?: string | null;
  docker_image_url?: string | null;
  status: string;
  tags: string[];
  env_schema: Array<{ name: string; required?: boolean; secret?: boolean }>;
}

/** The registered server definitions (GET /v1/mcp-servers). */
export function ServersPage() {
  const [list, setList] = useState<ServerDefinition[]>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    api<ServerDefinition[]>("/v1/mcp-servers").then(setList, setError);
  }, []);
  return (
    <section aria-labelledby="servers-heading">
      <PageHeading>
        <span id="servers-heading">Server definitions</span>
      </PageHeading>
      <ErrorBox error={error} />
      {list === undefined ? (
        error ? null : (
          <p aria-live="polite">Loading…</p>
        )
      ) : list.length === 0 ? (
        <p>No server definitions registered.</p>
      ) : (
        <table>
          <caption class="visually-hidden">Server definitions</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Version</th>
              <th scope="col">Image</th>
              <th scope="col">Status</th>
              <th scope="col">Tags</th>
              <th scope="col">Environment</th>
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <tr key={s.id}>
                <th scope="row">
                  {s.name}
                  {s.description ? <p class="help">{s.description}</p> : null}
                </th>
                <td>{s.version ?? "—"}</td>
                <td>{s.docker_image_url ? <code>{s.docker_image_url}</code> : "—"}</td>
                <td>{s.status}</td>
                <td>{s.tags.join(", ")}</td>
                <td>
                  {s.env_schema.length === 0
                    ? "—"
                    : s.env_schema
                        .map((e) => `${e.name}${e.required ? "*" : ""}${e.secret ? " (secret)" : ""}`)
                        .join(", ")}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
