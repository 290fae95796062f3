import { useEffect, useState } from "preact/hooks";
import { ApiError, api, roleAllows, session } from "./api.js";
import { ErrorBox } from "./components/common.js";
import { CreatePage } from "./pages/create.js";
import { InstancePage } from "./pages/instance.js";
import { InstancesPage } from "./pages/instances.js";
import { LoginPage } from "./pages/login.js";
import { ServersPage } from "./pages/servers.js";
import { Link, match, navigate, usePath } from "./router.js";
import { SessionContext, useSession, type Who } from "./session.js";

export function App() {
  const [who, setWho] = useState<Who | null | undefined>(session.key() ? undefined : null);
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (who !== undefined) return;
    api<Who>("/v1/whoami")
      .then(setWho)
      .catch((err) => {
        if (err instanceof ApiError && err.status === 401) session.clear();
        else setError(err instanceof Error ? err.message : String(err));
        setWho(null);
      });
  }, [who]);
  if (who === undefined) return <p aria-live="polite">Loading…</p>;
  if (who === null)
    return (
      <>
        {error ? <ErrorBox message={error} /> : null}
        <LoginPage
          onLogin={(w, key) => {
            session.save(key);
            setWho(w);
          }}
        />
      </>
    );
  const logout = () => {
    session.clear();
    setWho(null);
    navigate("/", true);
  };
  return (
    <SessionContext.Provider value={{ who, logout }}>
      <Shell />
    </SessionContext.Provider>
  );
}

function Shell() {
  const path = usePath();
  const { who, logout } = useSession();
  useEffect(() => {
    // moves focus to the new page's heading, so keyboard and screen-reader users land on it
    document.querySelector<HTMLElement>("main h1")?.focus();
  }, [path]);
  const instance = match("/instances/:id", path);
  const canCreate = roleAllows(who.role, "operator");
  let page = <NotFound />;
  if (path === "/" || path === "/instances") page = <InstancesPage />;
  else if (instance) page = <InstancePage id={instance.id!} />;
  else if (path === "/create") page = canCreate ? <CreatePage /> : <Forbidden />;
  else if (path === "/servers") page = <ServersPage />;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">mcpfleet</span>
        <nav aria-label="Main">
          <ul>
            <li>
              <Link to="/" current={path === "/" || path.startsWith("/instances")}>
                Instances
              </Link>
            </li>
            {canCreate ? (
              <li>
                <Link to="/create" current={path === "/create"}>
                  Create instance
                </Link>
              </li>
            ) : null}
            <li>
              <Link to="/servers" current={path === "/servers"}>
                Server definitions
              </Link>
            </li>
          </ul>
        </nav>
        <span class="who" data-testid="who">
          {who.id} <span class={`role role-${who.role}`}>{who.role}</span>
        </span>
        <button type="button" onClick={logout}>
          Log out
        </button>
      </header>
      <main id="main">{page}</main>
    </>
  );
}

function NotFound() {
  return (
    <section>
      <h1 tabIndex={-1}>Not found</h1>
      <p>
        No page here. <Link to="/">Back to the instances</Link>
      </p>
    </section>
  );
}

function Forbidden() {
  return (
    <section>
      <h1 tabIndex={-1}>Not allowed</h1>
      <p>Your key's role may not do this.</p>
    </section>
  );
}
