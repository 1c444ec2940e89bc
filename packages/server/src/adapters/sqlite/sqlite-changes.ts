import type Database from 'better-sqlite3';
import type { ChangeOp, ChangeRow, NewChange, RecordRow } from '../../core/records/record.js';
import type { ChangeRepository } from '../../core/storage/store.js';
import { limitClause } from './sqlite-limit.js';
import type { Exec } from './sqlite-store.js';
import { isoText } from './sqlite-time.js';

type Db = Database.Database;

interface ChangeRecord {
  seq: number; collection: string; collection_id: string; record_id: string; op: string;
  record: string; previous: string | null; created_at: string; tx_end: number;
}

const COLUMNS = 'seq, collection, collection_id, record_id, op, record, previous, created_at, tx_end';

function toChange(r: ChangeRecord): ChangeRow {
  return {
    seq: r.seq, collection: r.collection, collectionId: r.collection_id, recordId: r.record_id, op: r.op as ChangeOp,
    record: JSON.parse(r.record) as RecordRow,
    previous: r.previous === null ? null : JSON.parse(r.previous) as RecordRow,
    createdAt: r.created_at, txEnd: r.tx_end === 1,
  };
}

export function prepareChangeReads(db: Db) {
  const afterStatements = new Map<number, Database.Statement<[number], ChangeRecord>>();
  return {
    /** Changes after a seq, `limit` at most: one statement per distinct limit (see `limitClause`). */
    after: (limit: number): Database.Statement<[number], ChangeRecord> => {
      let statement = afterStatements.get(limit);
      if (statement === undefined) {
        statement = db.prepare<[number], ChangeRecord>(`SELECT ${COLUMNS} FROM changes WHERE seq > ? ORDER BY seq ${limitClause(limit)}`);
        if (afterStatements.size >= 16) afterStatements.clear();
        afterStatements.set(limit, statement);
      }
      return statement;
    },
    /** Iterated row by row, so a replay batch stops at its size budget without reading further. */
    ofCollection: db.prepare<[string, number], ChangeRecord>(
      `SELECT ${COLUMNS} FROM changes WHERE collection_id = ? AND seq > ? ORDER BY seq`,
    ),
    latest: db.prepare<[], number>('SELECT last FROM change_counter WHERE id = 1').pluck(),
    oldest: db.prepare<[], number | null>('SELECT min(seq) FROM changes').pluck(),
    // Through the primary key from `seq` on: a transaction's changes are few and contiguous.
    transactionEnd: db.prepare<[number], number | null>('SELECT min(seq) FROM changes WHERE seq >= ? AND tx_end = 1').pluck(),
  };
}

export function prepareChangeWrites(db: Db) {
  const next = db.prepare<[], number>('UPDATE change_counter SET last = last + 1 WHERE id = 1 RETURNING last').pluck();
  const take = db.prepare<[number], number>('UPDATE change_counter SET last = last + ? WHERE id = 1 RETURNING last').pluck();
  const insert = db.prepare<[number, string, string, string, string, string, string | null, string, number]>(
    `INSERT INTO changes (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertChange = (seq: number, c: NewChange): void => {
    insert.run(seq, c.collection, c.collectionId, c.recordId, c.op, JSON.stringify(c.record),
      c.previous === null ? null : JSON.stringify(c.previous), isoText(c.createdAt), c.txEnd ? 1 : 0);
  };
  return {
    /**
     * Takes the next seq from the counter row and inserts the change with it,
     * atomically (its own transaction, or a savepoint inside the caller's, so
     * a failed insert never leaves the counter advanced). SQLite has one
     * writer at a time, so seq order is commit order trivially; the counter
     * (rather than max(seq) + 1) keeps seqs from being reused after pruning,
     * and mirrors the PostgreSQL adapter (see postgres-changes.ts). The
     * changes of one transaction are contiguous for the same reason: the
     * writer runs one transaction at a time (group commit runs the grouped
     * ones one after another, never interleaved; see sqlite-group-commit.ts).
     */
    append: db.transaction((c: NewChange): number => {
      const seq = next.get()!;
      insertChange(seq, c);
      return seq;
    }),
    /** `append` for several: the counter moves once, by their number. */
    appendAll: db.transaction((list: readonly NewChange[]): number[] => {
      const first = take.get(list.length)! - list.length + 1;
      return list.map((c, i) => {
        insertChange(first + i, c);
        return first + i;
      });
    }),
    /**
     * Deletes the oldest changes up to (not including) the first one created
     * at or after `before`, so the log stays one gap-free range of seqs:
     * created_at comes from the writing process's clock and need not grow
     * with seq, and a hole in the middle would be a silent loss for a client
     * resuming with `since` (it trusts that everything above `oldestSeq` is there).
     */
    prune: db.prepare<[string]>(
      `DELETE FROM changes WHERE seq < coalesce(
         (SELECT seq FROM changes WHERE created_at >= ? ORDER BY seq LIMIT 1),
         (SELECT last + 1 FROM change_counter WHERE id = 1))`,
    ),
  };
}

export type ChangeReads = ReturnType<typeof prepareChangeReads>;
export type ChangeWrites = ReturnType<typeof prepareChangeWrites>;

export function makeSqliteChangeRepository(read: Exec<ChangeReads>, write: Exec<ChangeWrites>): ChangeRepository {
  return {
    async appendChange(change) {
      return write((s) => s.append.immediate(change));
    },
    async appendChanges(changes) {
      return write((s) => s.appendAll.immediate(changes));
    },
    async readChanges(afterSeq, limit) {
      const rows = await read((s) => s.after(limit).all(afterSeq));
      return rows.map(toChange);
    },
    async readCollectionChanges(collectionId, afterSeq, limit, maxChars) {
      const rows = await read((s) => {
        const out: ChangeRecord[] = [];
        let chars = 0;
        for (const row of s.ofCollection.iterate(collectionId, afterSeq)) {
          out.push(row);
          chars += row.record.length + (row.previous?.length ?? 0);
          // Ending the iteration early resets the statement: nothing more is read.
          if (out.length >= limit || chars >= maxChars) break;
        }
        return out;
      });
      return rows.map(toChange);
    },
    async findTransactionEnd(seq) {
      return (await read((s) => s.transactionEnd.get(seq))) ?? null;
    },
    async latestSeq() {
      return (await read((s) => s.latest.get())) ?? 0;
    },
    async oldestSeq() {
      return (await read((s) => s.oldest.get())) ?? null;
    },
    async pruneChanges(before) {
      const result = await write((s) => s.prune.run(isoText(before)));
      return result.changes;
    },
  };
}
