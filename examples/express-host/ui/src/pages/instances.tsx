import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, api, INSTANCES, type Instance, instancePath, roleAllows } from "../api.js";
import { ErrorBox, PageHeading, StatusBadge } from "../components/common.js";
import { LiveState } from "../components/live.js";
import { applyEvent, useFleetEvents } from "../events.js";
import { Link } from "../router.js";
import { useSession } from "../session.js";

const POLL_MS = 3000;

export function InstancesPage() {
  const { who } = useSession();
  const [list, setList] = useState<Instance[]>();
  const [error, setError] = useState<unknown>();
  const load = useCallback(async () => {
    try {
      setList(await api<Instance[]>(`${INSTANCES}?limit=1000`));
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  }, []);
  const reloadOne = useCallback(async (id: string) => {
    try {
      const one = await api<Instance>(instancePath(id));
      setList((l) => {
        const cur = l ?? [];
        const at = cur.findIndex((i) => i.id === one.id);
        const next = at < 0 ? [...cur, one] : cur.map((i, n) => (n === at ? one : i));
        return next.sort((a, b) => a.name.localeCompare(b.name));
      });
    } catch (err) {
      // gone meanwhile
      if (err instanceof ApiError && err.status === 404) setList((l) => (l ?? []).filter((i) => i.id !== id));
    }
  }, []);
  const stream = useFleetEvents(undefined, {
    onEvent: (e) => {
      let reload: string | undefined;
      setList((l) => {
        const r = applyEvent(l ?? [], e);
        reload = r.reload;
        return r.list;
      });
      if (reload) void reloadOne(reload);
    },
    onReset: () => void load(),
  });
  useEffect(() => {
    void load();
  }, [load]);
  // while the event stream is down, poll so the page still converges
  useEffect(() => {
    if (stream.state === "live") return;
    const t = setInterval(() => void load(), POLL_MS);
    return () => clearInterval(t);
  }, [stream.state, load]);
  const canCreate = roleAllows(who.role, "operator");
  return (
    <section aria-labelledby="instances-heading">
      <div class="heading-row">
        <PageHeading>
          <span id="instances-heading">Instances</span>
        </PageHeading>
        {canCreate ? (
          <Link to="/create" class="button">
            Create instance
          </Link>
        ) : null}
      </div>
      <LiveState state={stream.state} error={stream.error} />
      <ErrorBox error={error} />
      {list === undefined ? (
        <p aria-live="polite">Loading…</p>
      ) : list.length === 0 ? (
        <p>No instances yet.</p>
      ) : (
        <table class="instances">
          <caption class="visually-hidden">Instances and their live status</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Restarts</th>
              <th scope="col">Reason</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {list.map((i) => (
              <tr key={i.id} data-instance={i.name}>
                <th scope="row">
                  <Link to={`/instances/${encodeURIComponent(i.id)}`}>{i.name}</Link>
                </th>
                <td>{i.json_spec.type}</td>
                <td>
                  <StatusBadge status={i.status} />
                </td>
                <td data-testid="restarts">{i.restart_count}</td>
                <td>{i.status_reason ?? ""}</td>
                <td>
                  <time dateTime={i.updated_at}>{new Date(i.updated_at).toLocaleString()}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
