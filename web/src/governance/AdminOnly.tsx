import { Link } from '../ui.js';

/** What an administrators' page shows while the server has not said yes (null: still asking). */
export function AdminOnly({ title, admin }: { title: string; admin: boolean | null }) {
  return (
    <>
      <h1 tabIndex={-1}>{title}</h1>
      {admin === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <p className="empty">
          {title} is for holders of the elevate-admin role. If you are eligible for it, activate it on <Link href="/">My access</Link> first.
        </p>
      )}
    </>
  );
}
