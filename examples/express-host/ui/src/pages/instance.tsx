import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, api, type Instance, instancePath, roleAllows } from "../api.js";
import { ErrorBox, PageHeading, StatusBadge } from "../components/common.js";
import { LiveState } from "../components/live.js";
import { LogsPanel } from "../components/logs.js";
import { SpecView } from "../components/spec-view.js";
import { ToolsPanel } from "../components/tools.js";
import { useFleetEvents } from "../events.js";
import { Link, navigate } from "../router.js";
import { useSession } from "../session.js";

export function InstancePage(props: { id: string }) {
  const { who } = useSession();
  const [inst, setInst] = useState<Instance>();
  const [gone, setGone] = useState(false);
  const [error, setError] = useState<unknown>();
  const [actionError, setActionError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const load = useCallback(async () => {
    try {
      setInst(await api<Instance>(instancePath(props.id)));
      setError(undefined);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setGone(true);
      else setError(err);
    }
  }, [props.id]);
  useEffect(() => {
    void load();
  }, [load]);
  const stream = useFleetEvents(inst?.id, {
    onEvent: (e) => {
      // MCPServerInstanceDeleted is the request; the instance is gone when its status reaches `deleted`
      if (e.data.status === "deleted") {
        setGone(true);
        return;
      }
      if (e.data.status) setInst((i) => i && { ...i, status: e.data.status!, status_reason: e.data.status_reason });
      void load();
    },
    onReset: () => void load(),
  });
  useEffect(() => {
    if (stream.state === "live" || gone) return;
    const t = setInterval(() => void load(), 3000);
    return () => clearInterval(t);
  }, [stream.state, gone, load]);

  const act = async (what: "start" | "stop" | "delete") => {
    setBusy(true);
    setActionError(undefined);
    try {
      if (what === "delete") {
        await api(instancePath(inst!.id), { method: "DELETE" });
        navigate("/");
        return;
      }
      setInst(await api<Instance>(`${instancePath(inst!.id)}/${what}`, { method: "POST" }));
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };

  if (gone)
    return (
      <section>
        <PageHeading>Instance deleted</PageHeading>
        <p>
          This instance no longer exists. <Link to="/">Back to the instances</Link>
        </p>
      </section>
    );
  if (!inst)
    return (
      <section>
        <PageHeading>Instance</PageHeading>
        <ErrorBox error={error} />
        {error ? null : <p aria-live="polite">Loading…</p>}
      </section>
    );
  const canOperate = roleAllows(who.role, "operator");
  return (
    <article aria-labelledby="instance-heading">
      <PageHeading>
        <span id="instance-heading">{inst.name}</span>
      </PageHeading>
      <LiveState state={stream.state} error={stream.error} />
      <dl class="facts">
        <dt>Status</dt>
        <dd data-testid="instance-status" aria-live="polite">
          <StatusBadge status={inst.status} />
        </dd>
        <dt>Reason</dt>
        <dd>{inst.status_reason ?? "—"}</dd>
        <dt>Restarts</dt>
        <dd data-testid="instance-restarts">{inst.restart_count}</dd>
        <dt>Desired state</dt>
        <dd>{inst.desired_state}</dd>
        <dt>Generation</dt>
        <dd>
          {inst.observed_generation} of {inst.generation} observed
        </dd>
        <dt>Id</dt>
        <dd>
          <code>{inst.id}</code>
        </dd>
        {inst.description ? (
          <>
            <dt>Description</dt>
            <dd>{inst.description}</dd>
          </>
        ) : null}
      </dl>
      {canOperate ? (
        <fieldset class="actions">
          <legend class="visually-hidden">Instance actions</legend>
          <button type="button" disabled={busy || inst.desired_state === "running"} onClick={() => act("start")}>
            Start
          </button>
          <button type="button" disabled={busy || inst.desired_state !== "running"} onClick={() => act("stop")}>
            Stop
          </button>
          {confirming ? (
            <>
              <button type="button" class="danger" disabled={busy} onClick={() => act("delete")}>
                Confirm delete
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </>
          ) : (
            <button
              type="button"
              class="danger"
              disabled={busy || inst.desired_state === "deleted"}
              onClick={() => setConfirming(true)}
            >
              Delete
            </button>
          )}
        </fieldset>
      ) : null}
      <ErrorBox error={actionError} />
      <ToolsPanel instance={inst.id} running={inst.status === "running"} />
      <LogsPanel instance={inst.id} />
      <SpecView instance={inst} />
    </article>
  );
}
