import type Database from 'better-sqlite3';

export interface SqliteMigration {
  /** Strictly increasing, never reused; a released migration is never edited. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * The SQLite schema, as an append-only list. To change the schema, add an
 * entry with the next version; both dialects keep the same version numbers.
 *
 * Times are ISO 8601 UTC text (`toISOString()` format: fixed width, so text
 * comparison is time order). Tables are STRICT so a wrong type is an error,
 * not a silent coercion.
 */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'users_sessions_refresh_tokens',
    sql: `
      CREATE TABLE users (
        id            TEXT PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE, -- lower-cased by the adapter
        email         TEXT,
        password_hash TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('user', 'admin')),
        disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
      ) STRICT;

      CREATE TABLE sessions (
        id         TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        revoked_at TEXT
      ) STRICT;
      CREATE INDEX sessions_user_id_idx ON sessions (user_id);
      CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

      CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        used_at    TEXT
      ) STRICT;
      CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
    `,
  },
  {
    version: 2,
    name: 'collections_change_log',
    // Each collection's records live in their own table "c_<name>", created
    // with the collection (sqlite-collections.ts). `change_counter` holds the
    // last seq handed out: see sqlite-changes.ts for why seqs come from a
    // counter row rather than from the changes table itself.
    sql: `
      CREATE TABLE collections (
        name           TEXT PRIMARY KEY,
        schema         TEXT NOT NULL, -- JSON, as the admin wrote it
        rules          TEXT NOT NULL, -- JSON
        indexes        TEXT NOT NULL, -- JSON: list of lists of dotted paths
        schema_version INTEGER NOT NULL,
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL
      ) STRICT;

      CREATE TABLE changes (
        seq        INTEGER PRIMARY KEY,
        collection TEXT NOT NULL,
        record_id  TEXT NOT NULL,
        op         TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
        record     TEXT NOT NULL, -- JSON: the whole RecordRow after the change
        previous   TEXT,          -- JSON: the RecordRow before an update
        created_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX changes_created_at_idx ON changes (created_at);

      CREATE TABLE change_counter (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        last INTEGER NOT NULL
      ) STRICT;
      INSERT INTO change_counter (id, last) VALUES (1, 0);
    `,
  },
  {
    version: 3,
    name: 'change_log_without_created_at_index',
    // Pruning finds its cut-off by walking the log in seq order from the
    // oldest entry (ORDER BY seq LIMIT 1 over the primary key), which touches
    // only the entries it is about to delete; the created_at index was never
    // needed for it, and keeping it up to date cost every write ~12 µs
    // (a quarter of SQLite's work for a record write, measured).
    sql: `DROP INDEX IF EXISTS changes_created_at_idx;`,
  },
  {
    version: 4,
    name: 'collection_identity',
    // A collection deleted and created again under the same name is another
    // collection: its change-log entries carry its identity, so the new one
    // never replays the old one's history. Existing entries get the identity
    // of the collection of their name that existed when they were written
    // (none: ''). `drop` entries end a collection's history; SQLite cannot
    // alter a CHECK, so the log is copied into a table that allows them.
    // Replays read one collection's entries through (collection_id, seq).
    sql: `
      ALTER TABLE collections ADD COLUMN id TEXT NOT NULL DEFAULT '';
      UPDATE collections SET id = lower(hex(randomblob(16)));

      CREATE TABLE changes_v4 (
        seq           INTEGER PRIMARY KEY,
        collection    TEXT NOT NULL,
        collection_id TEXT NOT NULL,
        record_id     TEXT NOT NULL,
        op            TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete', 'drop')),
        record        TEXT NOT NULL,
        previous      TEXT,
        created_at    TEXT NOT NULL
      ) STRICT;
      INSERT INTO changes_v4 (seq, collection, collection_id, record_id, op, record, previous, created_at)
        SELECT seq, collection,
               coalesce((SELECT c.id FROM collections c WHERE c.name = changes.collection AND c.created_at <= changes.created_at), ''),
               record_id, op, record, previous, created_at
        FROM changes;
      DROP TABLE changes;
      ALTER TABLE changes_v4 RENAME TO changes;
      CREATE INDEX changes_collection_seq_idx ON changes (collection_id, seq);
    `,
  },
  {
    version: 5,
    name: 'change_tx_end',
    // Which change ends its transaction (realtime marks a transaction's last
    // event with it). Every change written before batches existed was a
    // transaction of its own, so existing rows are ends.
    sql: `ALTER TABLE changes ADD COLUMN tx_end INTEGER NOT NULL DEFAULT 1 CHECK (tx_end IN (0, 1));`,
  },
  {
    version: 6,
    name: 'record_refs',
    // The references of relation fields (store.ts, RelationRepository): one
    // row per referencing record, field and referenced id. The primary key
    // serves "this record's references", the index "who references this
    // record" (restrict, cascade, setNull, back-relations).
    sql: `
      CREATE TABLE record_refs (
        source    TEXT NOT NULL,
        source_id TEXT NOT NULL,
        field     TEXT NOT NULL,
        target    TEXT NOT NULL,
        target_id TEXT NOT NULL,
        PRIMARY KEY (source, source_id, field, target_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX record_refs_target ON record_refs (target, target_id, source, field, source_id);
    `,
  },
  {
    version: 7,
    name: 'password_resets',
    // Reset tokens by their SHA-256 (store.ts, PasswordResetRepository), and
    // the index that finds the accounts of an email address.
    sql: `
      CREATE TABLE password_resets (
        token_hash TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at    TEXT
      ) STRICT;
      CREATE INDEX password_resets_user_id_idx ON password_resets (user_id);
      CREATE INDEX password_resets_expires_at_idx ON password_resets (expires_at);
      CREATE INDEX users_email_lower_idx ON users (lower(email)) WHERE email IS NOT NULL;
    `,
  },
  {
    version: 8,
    name: 'users_email_verified',
    // Whether the user proved they receive mail at `email` (docs/auth.md). Existing users start unverified.
    sql: `
      ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1));
    `,
  },
  {
    version: 9,
    name: 'email_verifications',
    // Verification links by the SHA-256 of their token (store.ts, EmailVerificationRepository):
    // `email` is the address the link was mailed to; `purpose` says whether it
    // verifies the current address or confirms a change to it.
    sql: `
      CREATE TABLE email_verifications (
        token_hash TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        email      TEXT NOT NULL,
        purpose    TEXT NOT NULL CHECK (purpose IN ('verify', 'change')),
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at    TEXT
      ) STRICT;
      CREATE INDEX email_verifications_user_id_idx ON email_verifications (user_id);
      CREATE INDEX email_verifications_expires_at_idx ON email_verifications (expires_at);
    `,
  },
  {
    version: 10,
    name: 'two_factor',
    // TOTP two-factor authentication (docs/auth.md, "Two-factor
    // authentication"): the flag the user DTO shows, the encrypted secret
    // (pending until confirmed), recovery codes and login challenges by their
    // SHA-256 only.
    sql: `
      ALTER TABLE users ADD COLUMN two_factor_enabled INTEGER NOT NULL DEFAULT 0 CHECK (two_factor_enabled IN (0, 1));
      CREATE TABLE two_factor_secrets (
        user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        secret     TEXT NOT NULL, -- AES-256-GCM (core/auth/two-factor-crypto.ts)
        created_at TEXT NOT NULL,
        enabled_at TEXT,           -- NULL while pending confirmation
        last_step  INTEGER NOT NULL DEFAULT -1 -- the last TOTP time step used (no reuse)
      ) STRICT;
      CREATE TABLE two_factor_recovery_codes (
        code_hash  TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        used_at    TEXT
      ) STRICT;
      CREATE INDEX two_factor_recovery_codes_user_id_idx ON two_factor_recovery_codes (user_id);
      CREATE TABLE two_factor_challenges (
        token_hash TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        failures   INTEGER NOT NULL DEFAULT 0,
        used_at    TEXT
      ) STRICT;
      CREATE INDEX two_factor_challenges_user_id_idx ON two_factor_challenges (user_id);
      CREATE INDEX two_factor_challenges_expires_at_idx ON two_factor_challenges (expires_at);
    `,
  },
  {
    version: 11,
    name: 'identity_providers',
    // Sign-in with an identity provider (docs/auth.md): the accounts users
    // hold at providers, the attempts in progress (by the SHA-256 of their
    // `state`) and the one-time sign-in codes (by their SHA-256).
    sql: `
      CREATE TABLE identities (
        provider   TEXT NOT NULL,
        subject    TEXT NOT NULL,
        user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        email      TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (provider, subject)
      ) STRICT;
      CREATE INDEX identities_user_id_idx ON identities (user_id);
      CREATE TABLE oauth_attempts (
        state_hash     TEXT PRIMARY KEY,
        provider       TEXT NOT NULL,
        nonce_hash     TEXT NOT NULL,
        code_verifier  TEXT NOT NULL,
        redirect_url   TEXT NOT NULL,
        app_challenge  TEXT,
        link_user_id   TEXT REFERENCES users (id) ON DELETE CASCADE,
        created_at     TEXT NOT NULL,
        expires_at     TEXT NOT NULL,
        used_at        TEXT
      ) STRICT;
      CREATE INDEX oauth_attempts_expires_at_idx ON oauth_attempts (expires_at);
      CREATE TABLE oauth_codes (
        code_hash     TEXT PRIMARY KEY,
        user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        app_challenge TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        expires_at    TEXT NOT NULL,
        used_at       TEXT
      ) STRICT;
      CREATE INDEX oauth_codes_expires_at_idx ON oauth_codes (expires_at);
    `,
  },
  {
    version: 12,
    name: 'writes_outside_log',
    // PostgreSQL only (its read cache learns of record writes made without
    // the change log): a SQLite database has one writer, which knows them all.
    sql: '',
  },
];

/** Throws unless versions are strictly increasing: a typo here would corrupt upgrades. */
export function assertMigrationOrder(migrations: readonly { readonly version: number }[]): void {
  let previous = 0;
  for (const { version } of migrations) {
    if (!Number.isInteger(version) || version <= previous) {
      throw new Error(`Migration versions must be strictly increasing integers (got ${version} after ${previous}).`);
    }
    previous = version;
  }
}

/**
 * Brings the database up to the latest version and returns the versions it
 * applied (empty when already current).
 *
 * Everything, including creating `schema_migrations`, happens inside one
 * `BEGIN IMMEDIATE` transaction: it takes SQLite's write lock before reading
 * the applied versions, so a second process opening the same file waits
 * (busy_timeout) and then finds nothing left to do. A failing migration rolls
 * back the whole batch.
 */
export function migrateSqlite(
  db: Database.Database,
  migrations: readonly SqliteMigration[] = SQLITE_MIGRATIONS,
): number[] {
  assertMigrationOrder(migrations);
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at TEXT NOT NULL
      ) STRICT
    `);
    const rows = db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[];
    const applied = new Set(rows.map((row) => row.version));
    const latestKnown = migrations.at(-1)?.version ?? 0;
    const newest = Math.max(0, ...applied);
    if (newest > latestKnown) {
      // A newer Sigil already upgraded this file; running old code on it could corrupt data.
      throw new Error(
        `The database schema is at version ${newest}, newer than this Sigil knows (${latestKnown}). Upgrade Sigil.`,
      );
    }
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    const done: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, new Date().toISOString());
      done.push(migration.version);
    }
    db.exec('COMMIT');
    return done;
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
