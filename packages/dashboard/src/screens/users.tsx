import type { UserDto } from '@sigil/client';
import { useEffect, useState } from 'preact/hooks';
import { client } from '../client';
import { useSession } from '../session';
import { ConfirmDialog } from '../ui/confirm-dialog';
import { ErrorMessage } from '../ui/error-message';

const PAGE = 50;
const SEARCH_DELAY_MS = 250;

interface Listing {
  readonly items: readonly UserDto[];
  readonly nextCursor: string | null;
}

/**
 * Users: search, promote/demote, disable/enable, reset two-factor, delete,
 * whether each email address is verified and a new verification link. Nothing happens
 * silently: every change is confirmed on the row, and every refusal (the
 * last enabled admin can be neither demoted, disabled nor deleted) is shown
 * in the server's words.
 */
export function UsersScreen() {
  const me = useSession()?.user;
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const [listing, setListing] = useState<Listing | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [notice, setNotice] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<UserDto | null>(null);
  const [resetting, setResetting] = useState<UserDto | null>(null);

  useEffect(() => {
    const timer = setTimeout(() => setQuery(search.trim()), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [search]);

  useEffect(() => {
    let current = true;
    setError(undefined);
    client.users.list({ limit: PAGE, search: query }).then(
      (page) => current && setListing(page),
      (e: unknown) => current && setError(e),
    );
    return () => {
      current = false;
    };
  }, [query]);

  const more = async (): Promise<void> => {
    if (!listing?.nextCursor) return;
    try {
      const page = await client.users.list({ limit: PAGE, search: query, after: listing.nextCursor });
      setListing({ items: [...listing.items, ...page.items], nextCursor: page.nextCursor });
    } catch (e) {
      setError(e);
    }
  };

  const replace = (user: UserDto): void => setListing((l) => l && { ...l, items: l.items.map((u) => (u.id === user.id ? user : u)) });

  const change = async (user: UserDto, patch: { role?: 'user' | 'admin'; disabled?: boolean }, done: string): Promise<void> => {
    setError(undefined);
    setNotice(null);
    try {
      replace(await client.users.update(user.username, patch));
      setNotice(done);
    } catch (e) {
      setError(e);
    }
  };

  const resend = async (user: UserDto): Promise<void> => {
    setError(undefined);
    setNotice(null);
    try {
      await client.users.resendVerification(user.username);
      setNotice(`A new verification link is on its way to ${user.username}.`);
    } catch (e) {
      setError(e);
    }
  };

  const remove = async (user: UserDto): Promise<void> => {
    setDeleting(null);
    setError(undefined);
    try {
      await client.users.delete(user.username);
      setListing((l) => l && { ...l, items: l.items.filter((u) => u.id !== user.id) });
      setNotice(`Deleted ${user.username}.`);
    } catch (e) {
      setError(e);
    }
  };

  const resetTwoFactor = async (user: UserDto): Promise<void> => {
    setResetting(null);
    setError(undefined);
    setNotice(null);
    try {
      await client.users.resetTwoFactor(user.username);
      replace({ ...user, twoFactorEnabled: false });
      setNotice(`Two-factor authentication of ${user.username} is off: they sign in with their password alone.`);
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <div class="toolbar" role="search">
        <label>
          Search
          <input type="search" placeholder="username or email" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
      </div>
      <ErrorMessage error={error} />
      <p role="status" class="ok">
        {notice}
      </p>
      {listing && listing.items.length === 0 && <p class="empty">{query ? `No user matches “${query}”.` : 'No users yet.'}</p>}
      {listing && listing.items.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Username</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">2FA</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {listing.items.map((u) => (
                <tr key={u.id} data-username={u.username}>
                  <th scope="row">
                    {u.username}
                    {u.id === me?.id && <span class="muted"> (you)</span>}
                  </th>
                  <td>
                    {u.email ?? <span class="muted">none</span>}{' '}
                    {u.email !== null && (u.emailVerified ? <span class="tag verified">verified</span> : <span class="tag unverified">unverified</span>)}
                  </td>
                  <td>
                    <span class={`tag ${u.role}`}>{u.role}</span> {u.disabled && <span class="tag disabled">disabled</span>}
                  </td>
                  <td>{u.twoFactorEnabled ? <span class="tag admin">on</span> : <span class="muted">off</span>}</td>
                  <td>{new Date(u.createdAt).toLocaleDateString()}</td>
                  <td class="actions">
                    <button type="button" onClick={() => void change(u, { role: u.role === 'admin' ? 'user' : 'admin' }, `${u.username} is now ${u.role === 'admin' ? 'a user' : 'an admin'}.`)}>
                      {u.role === 'admin' ? 'Demote' : 'Promote'}
                      <span class="visually-hidden"> {u.username}</span>
                    </button>
                    <button type="button" onClick={() => void change(u, { disabled: !u.disabled }, `${u.username} is ${u.disabled ? 'enabled' : 'disabled: their sessions ended'}.`)}>
                      {u.disabled ? 'Enable' : 'Disable'}
                      <span class="visually-hidden"> {u.username}</span>
                    </button>
                    {u.email !== null && !u.emailVerified && (
                      <button type="button" onClick={() => void resend(u)}>
                        Resend verification<span class="visually-hidden"> to {u.username}</span>
                      </button>
                    )}
                    {u.twoFactorEnabled && (
                      <button type="button" onClick={() => setResetting(u)}>
                        Reset 2FA<span class="visually-hidden"> {u.username}</span>
                      </button>
                    )}
                    <button type="button" class="danger" onClick={() => setDeleting(u)}>
                      Delete<span class="visually-hidden"> {u.username}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {listing?.nextCursor && (
        <div class="row">
          <button type="button" onClick={() => void more()}>
            Load more
          </button>
        </div>
      )}
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete ${deleting?.username ?? ''}?`}
        confirmLabel="Delete user"
        danger
        onCancel={() => setDeleting(null)}
        onConfirm={() => deleting && void remove(deleting)}
      >
        <p>Their account and every session end at once. Records they own stay (their owner names no user any more); records whose relation fields name them follow each field's onDelete, and a restrict relation refuses the delete.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={resetting !== null}
        title={`Reset two-factor authentication of ${resetting?.username ?? ''}?`}
        confirmLabel="Reset 2FA"
        danger
        onCancel={() => setResetting(null)}
        onConfirm={() => resetting && void resetTwoFactor(resetting)}
      >
        <p>For a user who lost their authenticator and their recovery codes. Their secret and recovery codes are deleted and they sign in with their password alone until they set it up again. Their sessions stay: to lock someone out, disable the account.</p>
      </ConfirmDialog>
    </section>
  );
}
