/** A self-contained HTML page listing the operations of the OpenAPI document (no scripts, no CDN). */
export function docsPage(doc: Record<string, unknown>): string {
  const esc = (s: unknown) =>
    String(s ?? "").replace(
      /[&<>"']/g,
      (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
    );
  const info = doc.info as { title: string; version: string; description?: string };
  const byTag = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(methods)) {
      const body = op.requestBody?.content?.["application/json"]?.schema;
      const okStatus = Object.keys(op.responses ?? {})[0];
      const params = (op.parameters ?? []) as Array<{ name: string; in: string }>;
      const row = `<tr id="${esc(op.operationId)}"><td><code class="m ${esc(method)}">${esc(method.toUpperCase())}</code></td>
<td><code>${esc(path)}</code>${
        params.filter((p) => p.in === "query").length
          ? `<div class="q">query: ${params
              .filter((p) => p.in === "query")
              .map((p) => esc(p.name))
              .join(", ")}</div>`
          : ""
      }</td>
<td>${esc(op["x-required-role"])}</td><td>${esc(op.summary)}${op.description ? `<div class="d">${esc(op.description)}</div>` : ""}
${body ? `<details><summary>request body</summary><pre>${esc(JSON.stringify(body, null, 2))}</pre></details>` : ""}</td><td>${esc(okStatus)}</td></tr>`;
      const tag = (op.tags?.[0] as string) ?? "other";
      byTag.set(tag, [...(byTag.get(tag) ?? []), row]);
    }
  }
  const sections = [...byTag]
    .map(
      ([tag, rows]) =>
        `<h2>${esc(tag)}</h2><table><tr><th>method</th><th>path</th><th>role</th><th>what</th><th>ok</th></tr>${rows.join("")}</table>`,
    )
    .join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(info.title)}</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2rem;max-width:72rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.35rem;text-align:left;vertical-align:top}.m{font-weight:bold}.get{color:#176}.post{color:#a60}
.delete{color:#b22}.patch,.put{color:#55a}.q,.d{color:#666;font-size:12px}pre{background:#f6f6f6;padding:.5rem;overflow:auto;max-height:20rem}</style>
</head><body><h1>${esc(info.title)} <small>${esc(info.version)}</small></h1><p>${esc(info.description)}</p>
<p>Authenticate with <code>Authorization: Bearer &lt;key&gt;</code> or <code>X-API-Key</code>. Roles: viewer (read) &lt; operator (instances) &lt; admin (servers, templates).
Errors are <code>application/problem+json</code>. Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>
${sections}
<h2>MCP</h2><table><tr><td><code>/mcp/{instance}</code></td><td>operator</td><td>Streamable HTTP gateway to one instance</td></tr>
<tr><td><code>/mcp</code></td><td>operator</td><td>aggregated endpoint: tools of every running instance as &lt;instance&gt;__&lt;tool&gt;</td></tr>
<tr><td><code>/control/mcp</code></td><td>operator</td><td>control-plane MCP server (the fleet's operations as tools)</td></tr></table>
</body></html>`;
}
