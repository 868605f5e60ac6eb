import { Link, Outlet, useNavigation } from "react-router";
import { CopyLink } from "./CopyLink";
import { TokenField } from "./TokenField";

export function Layout() {
  const nav = useNavigation();
  return (
    <>
      <header className="topbar">
        <Link to="/" className="brand">TideLens</Link>
        <span className="muted">TIDE errors and heatmaps across checkpoints</span>
        {nav.state === "loading" && <span className="muted">loading…</span>}
        <span className="spacer" />
        <CopyLink />
        <TokenField />
      </header>
      <main>
        <Outlet />
      </main>
    </>
  );
}
