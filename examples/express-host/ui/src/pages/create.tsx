import { useEffect, useState } from "preact/hooks";
import { api, INSTANCES, type Instance } from "../api.js";
import { ErrorBox, PageHeading } from "../components/common.js";
import { SecretRows, splitValues, useVariables, type Variable, VariableFields } from "../components/variables.js";
import { navigate } from "../router.js";

type Source = "spec" | "template" | "catalog";

interface Template {
  key: string;
  name: string;
  description?: string;
  env_schema: Variable[];
}
interface CatalogEntry {
  name: string;
  instance_name?: string;
  title?: string;
  description?: string;
  kind: string;
  variables: Variable[];
}

const EXAMPLE_SPEC = `{
  "type": "docker",
  "image": "mcp/echo:1",
  "port": 8000
}`;

/** Create an instance from a JSON spec, a template or a catalog entry (operator; process specs need admin). */
export function CreatePage() {
  const [source, setSource] = useState<Source>("spec");
  return (
    <section aria-labelledby="create-heading">
      <PageHeading>
        <span id="create-heading">Create instance</span>
      </PageHeading>
      <fieldset class="choice">
        <legend>Create from</legend>
        {(["spec", "template", "catalog"] as const).map((s) => (
          <label key={s}>
            <input type="radio" name="source" value={s} checked={source === s} onChange={() => setSource(s)} />{" "}
            {s === "spec" ? "a spec (JSON)" : s === "template" ? "a template" : "the catalog"}
          </label>
        ))}
      </fieldset>
      {source === "spec" ? <SpecForm /> : source === "template" ? <TemplateForm /> : <CatalogForm />}
    </section>
  );
}

const done = (i: Instance) => navigate(`/instances/${encodeURIComponent(i.id)}`);

function NameField(props: { value: string; onChange(v: string): void; required?: boolean; placeholder?: string }) {
  return (
    <div class="field">
      <label for="instance-name">Name</label>
      <input
        id="instance-name"
        required={props.required}
        pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*"
        placeholder={props.placeholder}
        value={props.value}
        onInput={(e) => props.onChange(e.currentTarget.value)}
      />
    </div>
  );
}

function SpecForm() {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [spec, setSpec] = useState(EXAMPLE_SPEC);
  const [secrets, setSecrets] = useState<Array<[string, string]>>([]);
  const [start, setStart] = useState(true);
  const [error, setError] = useState<unknown>();
  return (
    <form
      aria-label="Create from a spec"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(undefined);
        let json_spec: unknown;
        try {
          json_spec = JSON.parse(spec);
        } catch (err) {
          setError(new Error(`json_spec is not JSON: ${(err as Error).message}`));
          return;
        }
        const filled = secrets.filter(([k]) => k.trim() !== "");
        try {
          done(
            await api<Instance>(INSTANCES, {
              method: "POST",
              body: {
                name,
                ...(description ? { description } : {}),
                json_spec,
                ...(filled.length > 0 ? { secrets: Object.fromEntries(filled) } : {}),
                start,
              },
            }),
          );
        } catch (err) {
          setError(err);
        }
      }}
    >
      <NameField value={name} onChange={setName} required />
      <div class="field">
        <label for="instance-description">Description</label>
        <input id="instance-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="instance-spec">json_spec</label>
        <textarea
          id="instance-spec"
          rows={10}
          spellcheck={false}
          required
          value={spec}
          onInput={(e) => setSpec(e.currentTarget.value)}
          aria-describedby="instance-spec-help"
        />
        <p id="instance-spec-help" class="help">
          <code>docker</code>, <code>url</code> or <code>process</code> (admin only: a command on the host).
        </p>
      </div>
      <SecretRows rows={secrets} onChange={setSecrets} />
      <div class="field field-boolean">
        <input
          id="instance-start"
          type="checkbox"
          checked={start}
          onChange={(e) => setStart(e.currentTarget.checked)}
        />
        <label for="instance-start">Start after creating</label>
      </div>
      <button type="submit">Create</button>
      <ErrorBox error={error} />
    </form>
  );
}

function TemplateForm() {
  const [templates, setTemplates] = useState<Template[]>();
  const [key, setKey] = useState("");
  const [name, setName] = useState("");
  const [values, setValue, reset] = useVariables();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    api<Template[]>("/v1/mcp-servers/templates").then(setTemplates, setError);
  }, []);
  const chosen = templates?.find((t) => t.key === key);
  return (
    <form
      aria-label="Create from a template"
      onSubmit={async (e) => {
        e.preventDefault();
        if (!chosen) return;
        setError(undefined);
        const { plain, secrets } = splitValues(chosen.env_schema, values);
        try {
          done(
            await api<Instance>(`/v1/mcp-servers/from-template/${encodeURIComponent(chosen.key)}`, {
              method: "POST",
              body: {
                ...(name ? { name } : {}),
                environment: plain,
                ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
              },
            }),
          );
        } catch (err) {
          setError(err);
        }
      }}
    >
      <div class="field">
        <label for="template">Template</label>
        <select
          id="template"
          required
          value={key}
          onChange={(e) => {
            setKey(e.currentTarget.value);
            reset();
          }}
        >
          <option value="">Choose a template…</option>
          {(templates ?? []).map((t) => (
            <option key={t.key} value={t.key}>
              {t.name}
              {t.description ? ` — ${t.description}` : ""}
            </option>
          ))}
        </select>
      </div>
      {chosen ? (
        <>
          <NameField value={name} onChange={setName} placeholder={chosen.key} />
          <fieldset>
            <legend>Environment</legend>
            <VariableFields idPrefix="tpl" vars={chosen.env_schema} values={values} onChange={setValue} />
          </fieldset>
          <button type="submit">Create from {chosen.name}</button>
        </>
      ) : null}
      <ErrorBox error={error} />
    </form>
  );
}

function CatalogForm() {
  const [q, setQ] = useState("");
  const [entries, setEntries] = useState<CatalogEntry[]>();
  const [chosen, setChosen] = useState<CatalogEntry>();
  const [name, setName] = useState("");
  const [values, setValue, reset] = useVariables();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const controller = new AbortController();
    const t = setTimeout(() => {
      api<CatalogEntry[]>(`/v1/catalog?limit=50${q ? `&q=${encodeURIComponent(q)}` : ""}`, {
        signal: controller.signal,
      }).then(setEntries, (err) => controller.signal.aborted || setError(err));
    }, 200);
    return () => {
      clearTimeout(t);
      controller.abort();
    };
  }, [q]);
  return (
    <div>
      <form class="field" aria-label="Search the catalog" onSubmit={(e) => e.preventDefault()}>
        <label for="catalog-q">Search the catalog</label>
        <input id="catalog-q" type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
      </form>
      <ul class="catalog" aria-label="Catalog entries">
        {(entries ?? []).map((c) => (
          <li key={c.name}>
            <button
              type="button"
              aria-pressed={chosen?.name === c.name}
              onClick={() => {
                setChosen(c);
                reset();
              }}
            >
              {c.title ?? c.name}
            </button>{" "}
            <span class="help">
              {c.kind}
              {c.description ? ` — ${c.description}` : ""}
            </span>
          </li>
        ))}
      </ul>
      {entries?.length === 0 ? <p>No catalog entries match.</p> : null}
      {chosen ? (
        <form
          aria-label={`Create from ${chosen.title ?? chosen.name}`}
          onSubmit={async (e) => {
            e.preventDefault();
            setError(undefined);
            const { plain, secrets } = splitValues(chosen.variables, values);
            try {
              done(
                await api<Instance>(`/v1/catalog/${encodeURIComponent(chosen.name)}/instances`, {
                  method: "POST",
                  body: {
                    ...(name ? { name } : {}),
                    values: plain,
                    ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
                  },
                }),
              );
            } catch (err) {
              setError(err);
            }
          }}
        >
          <NameField value={name} onChange={setName} placeholder={chosen.instance_name} />
          <fieldset>
            <legend>Variables</legend>
            <VariableFields idPrefix="cat" vars={chosen.variables} values={values} onChange={setValue} />
          </fieldset>
          <button type="submit">Create from {chosen.title ?? chosen.name}</button>
        </form>
      ) : null}
      <ErrorBox error={error} />
    </div>
  );
}
