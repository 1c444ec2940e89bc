import type { AccessPreview, AccessPreviewPart, CollectionRules } from '@sigil/client';
import { useState } from 'preact/hooks';
import { client } from '../client';
import { href } from '../router';
import { useAsync } from '../ui/async';
import { ErrorMessage } from '../ui/error-message';

const ANONYMOUS = '';

/**
 * "Try as user…": which records a chosen user (or an anonymous caller) could
 * list and view under the rules as edited, before they are saved.
 */
export function AccessPreviewPanel({ collection, rules }: { collection: string; rules: CollectionRules | null }) {
  const [search, setSearch] = useState('');
  const users = useAsync(() => client.users.list({ limit: 100, ...(search ? { search } : {}) }), [search]);
  const [user, setUser] = useState(ANONYMOUS);
  const [answer, setAnswer] = useState<{ preview: AccessPreview; rules: string } | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const stale = answer !== null && answer.rules !== JSON.stringify(rules);

  const run = async (): Promise<void> => {
    if (rules === null) return;
    setBusy(true);
    setError(undefined);
    try {
      const preview = await client.collections.previewAccess(collection, { rules, user: user === ANONYMOUS ? null : user, limit: 20 });
      setAnswer({ preview, rules: JSON.stringify(rules) });
    } catch (e) {
      setAnswer(null);
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel" aria-labelledby="try-title">
      <h2 id="try-title">Try as user…</h2>
      <p class="muted small">What the chosen caller could read under the rules as edited above (not yet saved).</p>
      <div class="row try-row">
        <label>
          Find users
          <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} placeholder="username or email" />
        </label>
        <label>
          As
          <select value={user} onChange={(e) => setUser(e.currentTarget.value)}>
            <option value={ANONYMOUS}>anonymous (not signed in)</option>
            {(users.data?.items ?? []).map((u) => (
              <option key={u.id} value={u.username}>
                {u.username}
                {u.role === 'admin' ? ' (admin)' : ''}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => void run()} disabled={rules === null || busy}>
          Preview access
        </button>
      </div>
      {rules === null && <p class="muted small">Fix the rules above to preview them.</p>}
      <ErrorMessage error={users.error} />
      <ErrorMessage error={error} />
      {answer && (
        <div class="access-result" data-testid="access-preview" aria-live="polite">
          <p>
            As <strong>{answer.preview.user?.username ?? 'anonymous'}</strong>
            {stale && <span class="muted"> (the rules changed since: preview again)</span>}
          </p>
          <AccessPart title="Their list (and subscriptions)" part={answer.preview.list} collection={collection} testId="access-list" />
          <AccessPart title="By id" part={answer.preview.view} collection={collection} testId="access-view" />
        </div>
      )}
    </section>
  );
}

function AccessPart({ title, part, collection, testId }: { title: string; part: AccessPreviewPart; collection: string; testId: string }) {
  return (
    <div data-testid={testId}>
      <h3>{title}</h3>
      {!part.allowed ? (
        <p>No access: the collection answers them “not found”.</p>
      ) : part.items.length === 0 ? (
        <p>Allowed, but no record matches.</p>
      ) : (
        <>
          <ul class="record-links">
            {part.items.map((r) => (
              <li key={r.id}>
                <a href={href('records', collection, { open: r.id })}>{r.id}</a> <span class="muted small">{summary(r)}</span>
              </li>
            ))}
          </ul>
          {part.hasMore && <p class="muted small">…and more.</p>}
        </>
      )}
    </div>
  );
}

const SYSTEM = new Set(['id', 'createdAt', 'updatedAt', 'owner', 'version']);

function summary(r: Record<string, unknown>): string {
  const text = Object.entries(r)
    .filter(([k]) => !SYSTEM.has(k))
    .slice(0, 3)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
