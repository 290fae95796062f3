import { useState } from "preact/hooks";

/** A variable a template or catalog entry asks for (env schema entries and catalog variables share this shape). */
export interface Variable {
  name: string;
  description?: string;
  required?: boolean;
  secret?: boolean;
  default?: string | number | boolean | null;
  choices?: string[];
}

export function useVariables() {
  const [values, setValues] = useState<Record<string, string>>({});
  const set = (name: string, v: string) => setValues((cur) => ({ ...cur, [name]: v }));
  return [values, set, () => setValues({})] as const;
}

/** Splits filled-in values into plain values and secrets (which go to the secret store, never into the spec). */
export function splitValues(vars: Variable[], values: Record<string, string>) {
  const plain: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  for (const v of vars) {
    const value = values[v.name];
    if (value === undefined || value === "") continue;
    (v.secret ? secrets : plain)[v.name] = value;
  }
  return { plain, secrets };
}

/** One labelled input per variable; secret ones are password fields. */
export function VariableFields(props: {
  idPrefix: string;
  vars: Variable[];
  values: Record<string, string>;
  onChange(name: string, value: string): void;
}) {
  if (props.vars.length === 0) return <p class="help">No variables to fill in.</p>;
  return (
    <>
      {props.vars.map((v) => {
        const id = `${props.idPrefix}-${v.name}`;
        const help = v.description || v.secret ? `${id}-help` : undefined;
        return (
          <div class="field" key={v.name}>
            <label for={id}>
              {v.name}
              {v.required ? <span aria-hidden="true"> *</span> : null}
              {v.secret ? <span class="tag">secret</span> : null}
            </label>
            {v.choices && v.choices.length > 0 ? (
              <select
                id={id}
                required={v.required}
                value={props.values[v.name] ?? ""}
                onChange={(e) => props.onChange(v.name, e.currentTarget.value)}
                aria-describedby={help}
              >
                <option value="">(default)</option>
                {v.choices.map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            ) : (
              <input
                id={id}
                type={v.secret ? "password" : "text"}
                autoComplete="off"
                required={v.required && (v.default === undefined || v.default === null)}
                placeholder={v.default === undefined || v.default === null ? "" : String(v.default)}
                value={props.values[v.name] ?? ""}
                onInput={(e) => props.onChange(v.name, e.currentTarget.value)}
                aria-describedby={help}
              />
            )}
            {help ? (
              <p id={help} class="help">
                {[
                  v.description ? v.description.trim().replace(/([^.!?])$/, "$1.") : "",
                  v.secret ? "Stored in the secret store; the spec keeps only a reference." : "",
                ]
                  .filter(Boolean)
                  .join(" ")}
              </p>
            ) : null}
          </div>
        );
      })}
    </>
  );
}

/** Free name/value rows for a spec's secrets (`secrets` of the create body). */
export function SecretRows(props: { rows: Array<[string, string]>; onChange(rows: Array<[string, string]>): void }) {
  const { rows } = props;
  return (
    <fieldset>
      <legend>Secrets</legend>
      <p class="help">
        Values go to the secret store; the spec gets <code>secret_ref:</code> references.
      </p>
      {rows.map(([name, value], n) => (
        <div class="row" key={n}>
          <label for={`secret-name-${n}`}>Secret {n + 1} name</label>
          <input
            id={`secret-name-${n}`}
            value={name}
            onInput={(e) => props.onChange(rows.map((r, i) => (i === n ? [e.currentTarget.value, r[1]] : r)))}
          />
          <label for={`secret-value-${n}`}>Secret {n + 1} value</label>
          <input
            id={`secret-value-${n}`}
            type="password"
            autoComplete="off"
            value={value}
            onInput={(e) => props.onChange(rows.map((r, i) => (i === n ? [r[0], e.currentTarget.value] : r)))}
          />
          <button type="button" onClick={() => props.onChange(rows.filter((_, i) => i !== n))}>
            Remove secret {n + 1}
          </button>
        </div>
      ))}
      <button type="button" onClick={() => props.onChange([...rows, ["", ""]])}>
        Add secret
      </button>
    </fieldset>
  );
}
