import { client } from '../client';
import { useAsync } from '../ui/async';
import { ErrorMessage } from '../ui/error-message';
import { formatDuration } from '../ui/format';

/** Version, engine, uptime, realtime and change-log figures of the instance that answers. */
export function ServerScreen() {
  const status = useAsync(() => client.serverStatus(), []);
  const s = status.data;
  return (
    <section aria-labelledby="server-title">
      <div class="heading">
        <h1 id="server-title">Server</h1>
        <button type="button" onClick={() => status.reload()} disabled={status.loading}>
          Refresh
        </button>
      </div>
      <ErrorMessage error={status.error} />
      {s && (
        <dl class="facts">
          <dt>Version</dt>
          <dd>{s.version}</dd>
          <dt>Storage engine</dt>
          <dd>{s.engine === 'sqlite' ? 'SQLite (embedded)' : 'PostgreSQL'}</dd>
          <dt>Uptime</dt>
          <dd>
            {formatDuration(s.uptimeSeconds)} <span class="muted">(since {new Date(s.startedAt).toLocaleString()})</span>
          </dd>
          <dt>Realtime connections</dt>
          <dd data-testid="connections">{s.realtime.connections}</dd>
          <dt>Subscriptions</dt>
          <dd data-testid="subscriptions">{s.realtime.subscriptions}</dd>
          <dt>Change log</dt>
          <dd data-testid="change-log">
            {s.changeLog.size.toLocaleString()} changes
            {s.changeLog.oldestSeq !== null && (
              <span class="muted">
                {' '}
                (seq {s.changeLog.oldestSeq}–{s.changeLog.latestSeq})
              </span>
            )}
          </dd>
          <dt>Retention</dt>
          <dd>{formatDuration(s.changeLog.retentionSeconds)} <span class="muted">(REALTIME_RETENTION: how far back a client can resume)</span></dd>
          <dt>Collections</dt>
          <dd>
            {s.collections.length} holding {s.collections.reduce((n, c) => n + c.records, 0).toLocaleString()} records
          </dd>
        </dl>
      )}
      <p class="muted small">Figures are this instance's: with several instances behind a load balancer, each reports its own connections.</p>
    </section>
  );
}
