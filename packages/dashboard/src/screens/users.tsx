import type { UserDto } from '@sigil/client';
import { useState } from 'preact/hooks';
import { client } from '../client';
import { useAsync } from '../ui/async';
import { ErrorMessage } from '../ui/error-message';

/** Users: promote/demote, disable/enable, delete; every refusal shown in words. */
export function UsersScreen() {
  const users = useAsync(async () => {
    const all: UserDto[] = [];
    let after: string | undefined;
    do {
      const page = await client.users.list({ limit: 200, ...(after ? { after } : {}) });
      all.push(...page.items);
      after = page.nextCursor ?? undefined;
    } while (after !== undefined && all.length < 1000);
    return all;
  }, []);
  const [error, setError] = useState<unknown>(undefined);
  const act = async (action: () => Promise<unknown>): Promise<void> => {
    setError(undefined);
    try {
      await action();
    } catch (e) {
      setError(e);
    }
    users.reload();
  };
  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <ErrorMessage error={users.error ?? error} />
      {users.data && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Username</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => (
                <tr key={u.id} data-username={u.username}>
                  <th scope="row">{u.username}</th>
                  <td>{u.email ?? <span class="muted">none</span>}</td>
                  <td>{u.role}</td>
                  <td>{u.disabled ? 'disabled' : 'active'}</td>
                  <td class="actions">
                    <button type="button" onClick={() => void act(() => client.users.update(u.username, { role: u.role === 'admin' ? 'user' : 'admin' }))}>
                      {u.role === 'admin' ? 'Demote' : 'Promote'}
                    </button>
                    <button type="button" onClick={() => void act(() => client.users.update(u.username, { disabled: !u.disabled }))}>
                      {u.disabled ? 'Enable' : 'Disable'}
                    </button>
                    <button type="button" class="danger" onClick={() => confirm(`Delete ${u.username}? Their sessions end at once.`) && void act(() => client.users.delete(u.username))}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
