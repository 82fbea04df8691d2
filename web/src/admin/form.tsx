// What the administration pages' editors and buttons share.
import { useState, type ReactNode } from 'react';
import { Problem } from '../ui.js';
import type { Principal } from './api.js';

/**
 * One server call at a time from an editor or a button: `busy` meanwhile, and what went wrong in
 * `error` to show. With `untilGone`, success leaves it busy: what it acted on leaves the list when
 * the list reloads, and its button must not be pressed again meanwhile.
 */
export function useAction(untilGone = false) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function run(action: () => Promise<void>): Promise<void> {
    setBusy(true);
    setError(null);
    try {
      await action();
      if (!untilGone) setBusy(false);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }
  return { busy, error, setError, run };
}

/** An editor's text fields: their values, and the onChange for each by name. */
export function useFields<F extends Record<string, string>>(initial: F): [F, (k: keyof F) => (e: { target: { value: string } }) => void] {
  const [f, setF] = useState(initial);
  return [f, (k) => (e) => setF((x) => ({ ...x, [k]: e.target.value }))];
}

/** The foot of an editor: the server's refusal under `title`, then Cancel and the submit button. */
export function EditorActions({ error, title, busy, onCancel, children }: { error: unknown; title: string; busy: boolean; onCancel: () => void; children: ReactNode }) {
  return (
    <>
      <Problem error={error} title={title} />
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {children}
        </button>
      </div>
    </>
  );
}

/** Principal IDs to suggest in an input (`list={id}`), each with its name. */
export function PrincipalList({ id, principals }: { id: string; principals: Principal[] }) {
  return (
    <datalist id={id}>
      {principals.map((p) => (
        <option key={p.id} value={p.id}>
          {p.name}
        </option>
      ))}
    </datalist>
  );
}
