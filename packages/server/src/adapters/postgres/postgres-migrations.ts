import type pg from 'pg';

export interface PostgresMigration {
  /** Same numbering as the SQLite list: version N means the same schema in both dialects. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * Set (SET LOCAL) by a transaction whose record writes all go into the change
 * log: its writes do not count as writes outside it (migration 12).
 */
export const LOGGED_WRITES = 'sigil.logged_writes';

/** The trigger of migration 12 on one records table (a collection's table is created with it). */
export function writesOutsideLogTrigger(table: string): string {
  return `CREATE TRIGGER sigil_write_outside_log AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${table} FOR EACH STATEMENT ` +
    `WHEN (current_setting('${LOGGED_WRITES}', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION sigil_write_outside_log()`;
}

/**
 * The PostgreSQL schema, as an append-only list (add the next version; never
 * edit a released one).
 *
 * Ids and hashes use `COLLATE "C"` so ordering and keyset pagination compare
 * bytes, like SQLite, whatever the database's locale.
 */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'users_sessions_refresh_tokens',
    sql: `
      CREATE TABLE users (
        id            text COLLATE "C" PRIMARY KEY,
        username      text COLLATE "C" NOT NULL, -- lower-cased by the adapter
        email         text,
        password_hash text NOT NULL,
        role          text NOT NULL CHECK (role IN ('user', 'admin')),
        disabled      boolean NOT NULL DEFAULT false,
        created_at    timestamptz NOT NULL,
        updated_at    timestamptz NOT NULL
      );
      CREATE UNIQUE INDEX users_username_key ON users (username);

      CREATE TABLE sessions (
        id         text COLLATE "C" PRIMARY KEY,
        user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz
      );
      CREATE INDEX sessions_user_id_idx ON sessions (user_id);
      CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

      CREATE TABLE refresh_tokens (
        token_hash text COLLATE "C" PRIMARY KEY,
        session_id text COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL,
        used_at    timestamptz
      );
      CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
    `,
  },
  {
    version: 2,
    name: 'collections_change_log',
    // Each collection's records live in their own table "c_<name>", created
    // with the collection (postgres-collections.ts). `change_counter` holds
    // the last seq handed out: see postgres-changes.ts for why seqs come from
    // a counter row locked until commit and not from a SEQUENCE.
    //
    // `schema` is json, not jsonb: it keeps the admin's key order (property
    // order shows in the API, OpenAPI and generated types); nothing queries it.
    sql: `
      CREATE TABLE collections (
        name           text COLLATE "C" PRIMARY KEY,
        schema         json NOT NULL,
        rules          jsonb NOT NULL,
        indexes        jsonb NOT NULL,
        schema_version integer NOT NULL,
        created_at     timestamptz NOT NULL,
        updated_at     timestamptz NOT NULL
      );

      CREATE TABLE changes (
        seq        bigint PRIMARY KEY,
        collection text NOT NULL,
        record_id  text NOT NULL,
        op         text NOT NULL CHECK (op IN ('create', 'update', 'delete')),
        record     jsonb NOT NULL, -- the whole RecordRow after the change
        previous   jsonb,          -- the RecordRow before an update
        created_at timestamptz NOT NULL
      );
      CREATE INDEX changes_created_at_idx ON changes (created_at);

      CREATE TABLE change_counter (
        id   smallint PRIMARY KEY CHECK (id = 1),
        last bigint NOT NULL
      );
      INSERT INTO change_counter (id, last) VALUES (1, 0);
    `,
  },
  {
    version: 3,
    name: 'change_log_without_created_at_index',
    // Pruning finds its cut-off by walking the log in seq order from the
    // oldest entry (ORDER BY seq LIMIT 1 over the primary key), which touches
    // only the entries it is about to delete; the created_at index was never
    // needed for it, and keeping it up to date costs every write (on SQLite,
    // measured: ~12 µs, a quarter of its work for a record write).
    sql: `DROP INDEX IF EXISTS changes_created_at_idx;`,
  },
  {
    version: 4,
    name: 'collection_identity',
    // A collection's identity outlives nothing: deleted and created again
    // under the same name, it is another collection, and its change-log
    // entries carry that identity so the new one never replays the old one's
    // history. Existing entries get the identity of the collection of their
    // name that existed when they were written (none: ''). `drop` entries end
    // a collection's history. Replays read one collection's entries through
    // the (collection_id, seq) index.
    sql: `
      ALTER TABLE collections ADD COLUMN id text COLLATE "C";
      UPDATE collections SET id = gen_random_uuid()::text;
      ALTER TABLE collections ALTER COLUMN id SET NOT NULL;
      ALTER TABLE changes ADD COLUMN collection_id text COLLATE "C" NOT NULL DEFAULT '';
      UPDATE changes SET collection_id = c.id FROM collections c
        WHERE c.name = changes.collection AND c.created_at <= changes.created_at;
      ALTER TABLE changes ALTER COLUMN collection_id DROP DEFAULT;
      ALTER TABLE changes DROP CONSTRAINT IF EXISTS changes_op_check;
      ALTER TABLE changes ADD CONSTRAINT changes_op_check CHECK (op IN ('create', 'update', 'delete', 'drop'));
      CREATE INDEX changes_collection_seq_idx ON changes (collection_id, seq);
    `,
  },
  {
    version: 5,
    name: 'change_tx_end',
    // Which change ends its transaction (realtime marks a transaction's last
    // event with it). Every change written before batches existed was a
    // transaction of its own, so existing rows are ends.
    sql: `ALTER TABLE changes ADD COLUMN tx_end boolean NOT NULL DEFAULT true;`,
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
        source    text NOT NULL,
        source_id text NOT NULL,
        field     text NOT NULL,
        target    text NOT NULL,
        target_id text NOT NULL,
        -- For references to users only: a foreign key, checked at commit. A
        -- user's deletion (READ COMMITTED) handles the references committed
        -- up to its delete of the user's row, which later referencing writes
        -- wait for; the key is the database's own check of that at commit,
        -- and a violation re-runs the deletion (postgres-errors.ts).
        target_user text REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED,
        PRIMARY KEY (source, source_id, field, target_id)
      );
      CREATE INDEX record_refs_user ON record_refs (target_user) WHERE target_user IS NOT NULL;
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
        token_hash text COLLATE "C" PRIMARY KEY,
        user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at    timestamptz
      );
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
      ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
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
        token_hash text COLLATE "C" PRIMARY KEY,
        user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        email      text NOT NULL,
        purpose    text NOT NULL CHECK (purpose IN ('verify', 'change')),
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at    timestamptz
      );
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
      ALTER TABLE users ADD COLUMN two_factor_enabled boolean NOT NULL DEFAULT false;
      CREATE TABLE two_factor_secrets (
        user_id    text COLLATE "C" PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        secret     text NOT NULL, -- AES-256-GCM (core/auth/two-factor-crypto.ts)
        created_at timestamptz NOT NULL,
        enabled_at timestamptz,           -- NULL while pending confirmation
        last_step  bigint NOT NULL DEFAULT -1 -- the last TOTP time step used (no reuse)
      );
      CREATE TABLE two_factor_recovery_codes (
        code_hash  text COLLATE "C" PRIMARY KEY,
        user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL,
        used_at timestamptz
      );
      CREATE INDEX two_factor_recovery_codes_user_id_idx ON two_factor_recovery_codes (user_id);
      CREATE TABLE two_factor_challenges (
        token_hash text COLLATE "C" PRIMARY KEY,
        user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        failures   integer NOT NULL DEFAULT 0,
        used_at timestamptz
      );
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
        provider   text NOT NULL,
        subject    text NOT NULL,
        user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        email      text,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (provider, subject)
      );
      CREATE INDEX identities_user_id_idx ON identities (user_id);
      CREATE TABLE oauth_attempts (
        state_hash     text COLLATE "C" PRIMARY KEY,
        provider       text NOT NULL,
        nonce_hash     text NOT NULL,
        code_verifier  text NOT NULL,
        redirect_url   text NOT NULL,
        app_challenge  text,
        link_user_id   text COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
        created_at     timestamptz NOT NULL,
        expires_at     timestamptz NOT NULL,
        used_at        timestamptz
      );
      CREATE INDEX oauth_attempts_expires_at_idx ON oauth_attempts (expires_at);
      CREATE TABLE oauth_codes (
        code_hash     text COLLATE "C" PRIMARY KEY,
        user_id       text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        app_challenge text NOT NULL,
        created_at    timestamptz NOT NULL,
        expires_at    timestamptz NOT NULL,
        used_at       timestamptz
      );
      CREATE INDEX oauth_codes_expires_at_idx ON oauth_codes (expires_at);
    `,
  },
  {
    version: 12,
    name: 'writes_outside_log',
    // What the change log does not describe counts here, so instances' read
    // caches drop what they hold (postgres-read-cache.ts): record writes made
    // without it (an operator's psql session; any write not in a transaction
    // that says it logs its changes, see LOGGED_WRITES: Sigil's record writes
    // log and say so) and records tables made or dropped.
    sql: `
      CREATE TABLE writes_outside_log (
        id integer PRIMARY KEY CHECK (id = 1),
        n  bigint NOT NULL
      );
      INSERT INTO writes_outside_log (id, n) VALUES (1, 0);
      CREATE FUNCTION sigil_write_outside_log() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE writes_outside_log SET n = n + 1 WHERE id = 1;
        RETURN NULL;
      END
      $$;
      DO $$
      DECLARE c record;
      BEGIN
        -- writesOutsideLogTrigger's statement, spelled out: a released migration never changes.
        FOR c IN SELECT name FROM collections LOOP
          EXECUTE format('CREATE TRIGGER sigil_write_outside_log AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I FOR EACH STATEMENT '
            || 'WHEN (current_setting(''sigil.logged_writes'', true) IS DISTINCT FROM ''on'') EXECUTE FUNCTION sigil_write_outside_log()', 'c_' || c.name);
        END LOOP;
      END
      $$;
    `,
  },
];

/**
 * Key of the transaction-scoped advisory lock that serialises migrations
 * across Sigil instances sharing one database (an arbitrary constant: "sigil"
 * in ASCII, 0x736967696c).
 */
export const MIGRATION_LOCK_KEY = 495_689_623_916;

/**
 * Brings the database up to the latest version; returns the versions applied.
 *
 * One transaction holds `pg_advisory_xact_lock` from before it even creates
 * `schema_migrations`, so instances starting together queue on the lock and
 * the later ones find nothing to do. PostgreSQL DDL is transactional: a
 * failing migration leaves the schema as it was.
 */
export async function migratePostgres(
  client: pg.ClientBase,
  migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS,
): Promise<number[]> {
  migrations.forEach((m, i) => {
    if (!Number.isInteger(m.version) || m.version <= (migrations[i - 1]?.version ?? 0)) {
      throw new Error(`Migration versions must be strictly increasing integers (got ${m.version}).`);
    }
  });
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )
    `);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => row.version));
    const latestKnown = migrations.at(-1)?.version ?? 0;
    const newest = Math.max(0, ...applied);
    if (newest > latestKnown) {
      throw new Error(
        `The database schema is at version ${newest}, newer than this Sigil knows (${latestKnown}). Upgrade Sigil.`,
      );
    }
    const done: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      done.push(migration.version);
    }
    await client.query('COMMIT');
    return done;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
