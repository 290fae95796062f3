import { useEffect, useRef, useState } from "preact/hooks";
import { instancePath, openStream } from "../api.js";
import { readSse } from "../sse.js";
import { ErrorBox } from "./common.js";

interface LogLine {
  time: string;
  stream: "stdout" | "stderr";
  line: string;
}

const KEEP = 1000;

/** The instance's logs, followed over Server-Sent Events (`…/logs?follow=true`) while switched on. */
export function LogsPanel(props: { instance: string }) {
  const [follow, setFollow] = useState(false);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [state, setState] = useState<"off" | "following" | "ended">("off");
  const [error, setError] = useState<unknown>();
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    if (!follow) return;
    const controller = new AbortController();
    setLines([]);
    setError(undefined);
    void (async () => {
      try {
        const body = await openStream(`${instancePath(props.instance)}/logs?follow=true&tail=200`, controller.signal);
        setState("following");
        for await (const m of readSse(body)) {
          if (m.event === "log") {
            const line = JSON.parse(m.data) as LogLine;
            setLines((cur) => [...cur.slice(-(KEEP - 1)), line]);
          } else if (m.event === "error") {
            setError(new Error((JSON.parse(m.data) as { detail?: string }).detail ?? "log stream failed"));
          } else if (m.event === "end") break;
        }
        setState("ended");
      } catch (err) {
        if (!controller.signal.aborted) {
          setError(err);
          setState("ended");
        }
      }
    })();
    return () => {
      controller.abort();
      setState("off");
    };
  }, [follow, props.instance]);
  useEffect(() => {
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return (
    <section aria-labelledby="logs-heading">
      <h2 id="logs-heading">Logs</h2>
      <button type="button" aria-pressed={follow} onClick={() => setFollow((f) => !f)}>
        {follow ? "Stop following logs" : "Follow logs"}
      </button>
      <span class="help" data-testid="logs-state" aria-live="polite">
        {" "}
        {state === "following" ? "following" : state === "ended" ? "stream ended" : ""}
      </span>
      <ErrorBox error={error} />
      {follow ? (
        <pre class="logs" ref={box} data-testid="logs">
          {lines.map((l) => `${l.time} ${l.stream === "stderr" ? "ERR" : "OUT"} ${l.line}\n`).join("")}
        </pre>
      ) : null}
    </section>
  );
}
