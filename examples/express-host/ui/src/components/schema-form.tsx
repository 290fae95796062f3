import { useState } from "preact/hooks";
import type { JsonSchema } from "../api.js";
import { initialValues, kindOf } from "../schema-args.js";

/** Form fields generated from a tool's input schema (flat objects; nested values as JSON text). */
export function SchemaFields(props: {
  idPrefix: string;
  schema: JsonSchema;
  values: Record<string, string | boolean>;
  onChange(name: string, value: string | boolean): void;
  disabled?: boolean;
}) {
  const { schema, values, idPrefix } = props;
  const required = new Set(schema.required ?? []);
  const entries = Object.entries(schema.properties ?? {});
  if (entries.length === 0) return <p class="help">This tool takes no arguments.</p>;
  return (
    <>
      {entries.map(([name, prop]) => {
        const id = `${idPrefix}-${name}`;
        const kind = kindOf(prop);
        const help = prop.description ? `${id}-help` : undefined;
        const label = (
          <label for={id}>
            {prop.title ?? name}
            {required.has(name) ? <span aria-hidden="true"> *</span> : null}
          </label>
        );
        const common = {
          id,
          name,
          disabled: props.disabled,
          required: required.has(name) && kind !== "boolean",
          "aria-describedby": help,
        };
        let input: preact.JSX.Element;
        if (kind === "boolean")
          input = (
            <input
              {...common}
              type="checkbox"
              checked={values[name] === true}
              onChange={(e) => props.onChange(name, e.currentTarget.checked)}
            />
          );
        else if (kind === "enum")
          input = (
            <select
              {...common}
              value={String(values[name] ?? "")}
              onChange={(e) => props.onChange(name, e.currentTarget.value)}
            >
              {required.has(name) ? null : <option value="">(none)</option>}
              {prop.enum!.map((o) => (
                <option key={String(o)} value={String(o)}>
                  {String(o)}
                </option>
              ))}
            </select>
          );
        else if (kind === "json")
          input = (
            <textarea
              {...common}
              rows={3}
              placeholder="JSON"
              value={String(values[name] ?? "")}
              onInput={(e) => props.onChange(name, e.currentTarget.value)}
            />
          );
        else
          input = (
            <input
              {...common}
              type={kind === "string" ? "text" : "number"}
              step={kind === "integer" ? 1 : "any"}
              min={prop.minimum}
              max={prop.maximum}
              value={String(values[name] ?? "")}
              onInput={(e) => props.onChange(name, e.currentTarget.value)}
            />
          );
        return (
          <div class={`field field-${kind}`} key={name}>
            {label}
            {input}
            {help ? (
              <p id={help} class="help">
                {prop.description}
              </p>
            ) : null}
          </div>
        );
      })}
    </>
  );
}

export function useSchemaValues(schema: JsonSchema) {
  const [values, setValues] = useState(() => initialValues(schema));
  return [values, (name: string, v: string | boolean) => setValues((cur) => ({ ...cur, [name]: v }))] as const;
}
