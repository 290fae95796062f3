import { useEffect, useState } from "preact/hooks";
import { api, instancePath, roleAllows, type Tool } from "../api.js";
import { callTool, type ToolResult } from "../mcp.js";
import { toArguments } from "../schema-args.js";
import { useSession } from "../session.js";
import { ErrorBox } from "./common.js";
import { SchemaFields, useSchemaValues } from "./schema-form.js";

/** The running instance's tools (GET …/tools), each with a form generated from its input schema. */
export function ToolsPanel(props: { instance: string; running: boolean }) {
  const [tools, setTools] = useState<Tool[]>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    if (!props.running) return;
    const controller = new AbortController();
    api<{ tools: Tool[] }>(`${instancePath(props.instance)}/tools`, { signal: controller.signal })
      .then((r) => {
        setTools(r.tools);
        setError(undefined);
      })
      .catch((err) => {
        if (!controller.signal.aborted) setError(err);
      });
    return () => controller.abort();
  }, [props.instance, props.running]);
  return (
    <section aria-labelledby="tools-heading">
      <h2 id="tools-heading">Tools</h2>
      {!props.running ? (
        <p>Tools are listed while the instance is running.</p>
      ) : (
        <>
          <ErrorBox error={error} />
          {tools === undefined && !error ? <p aria-live="polite">Loading tools…</p> : null}
          {tools?.length === 0 ? <p>This server offers no tools.</p> : null}
          {tools?.map((t) => (
            <ToolCard key={t.name} instance={props.instance} tool={t} />
          ))}
        </>
      )}
    </section>
  );
}

function ToolCard(props: { instance: string; tool: Tool }) {
  const { who } = useSession();
  const { tool } = props;
  const schema = tool.inputSchema ?? { type: "object", properties: {} };
  const [values, setValue] = useSchemaValues(schema);
  const [result, setResult] = useState<ToolResult>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const canCall = roleAllows(who.role, "operator");
  const idPrefix = `tool-${tool.name}`;
  return (
    <details class="tool" data-tool={tool.name}>
      <summary>
        <code>{tool.name}</code>
        {tool.description ? <span class="help"> {tool.description.split("\n")[0]}</span> : null}
      </summary>
      <form
        aria-label={`Call ${tool.name}`}
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          setResult(undefined);
          try {
            setResult(await callTool(props.instance, tool.name, toArguments(schema, values)));
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <fieldset disabled={!canCall || busy}>
          <legend>Arguments</legend>
          <SchemaFields idPrefix={idPrefix} schema={schema} values={values} onChange={setValue} />
        </fieldset>
        <button type="submit" disabled={!canCall || busy} aria-describedby={canCall ? undefined : `${idPrefix}-role`}>
          Call {tool.name}
        </button>
        {canCall ? null : (
          <p id={`${idPrefix}-role`} class="help">
            Calling tools needs the operator role.
          </p>
        )}
      </form>
      <ErrorBox error={error} />
      {result ? <ResultView result={result} /> : null}
    </details>
  );
}

function ResultView(props: { result: ToolResult }) {
  const { result } = props;
  return (
    <output class={result.isError ? "result result-error" : "result"} data-testid="tool-result" aria-live="polite">
      {result.isError ? <p>The tool reported an error:</p> : null}
      {(result.content ?? []).map((c, n) =>
        c.type === "text" ? <pre key={n}>{c.text}</pre> : <pre key={n}>{JSON.stringify(c, null, 2)}</pre>,
      )}
      {result.structuredContent !== undefined ? <pre>{JSON.stringify(result.structuredContent, null, 2)}</pre> : null}
    </output>
  );
}
