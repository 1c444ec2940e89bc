/**
 * Cross-instance signals. On PostgreSQL, LISTEN/NOTIFY: a notification sent
 * inside a transaction is delivered when it commits, to every instance. On
 * SQLite (one process), an in-process emitter. Signals carry no data a
 * listener must not miss: listeners re-read the database, and a periodic
 * poll covers notifications lost while a connection was down.
 */
export interface Notifier {
  /** Calls `handler` for every notification on `channel`; `onReconnect` after the listening connection was re-established (notifications may have been missed). */
  listen(channel: string, handler: (payload: string) => void, onReconnect?: () => void): Promise<void>;
  notify(channel: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

export const CHANNELS = {
  /** A change was appended to the log (payload: its seq). */
  changes: 'sigil_changes',
  /** A user's sessions or role changed (payload: the user id). */
  identity: 'sigil_identity',
} as const;
