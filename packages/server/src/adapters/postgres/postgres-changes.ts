import type { ChangeOp, ChangeRow, RecordRow } from '../../core/records/record.js';
import type { ChangeRepository } from '../../core/storage/store.js';
import type { Run } from './postgres-store.js';

interface ChangeRecord {
  seq: string; collection: string; collection_id: string; record_id: string; op: string;
  record: RecordRow; previous: RecordRow | null; created_at: Date; tx_end: boolean;
}

const COLUMNS = 'seq, collection, collection_id, record_id, op, record, previous, created_at, tx_end';

function toChange(r: ChangeRecord): ChangeRow {
  return {
    seq: Number(r.seq), collection: r.collection, collectionId: r.collection_id, recordId: r.record_id, op: r.op as ChangeOp,
    record: r.record, previous: r.previous, createdAt: r.created_at.toISOString(), txEnd: r.tx_end,
  };
}

/**
 * The change log (transactional outbox), written in the same transaction as
 * the record change it describes.
 *
 * Why seqs come from a counter row and not from a SEQUENCE (or bigserial):
 * a sequence hands out numbers when rows are inserted, but transactions
 * commit in their own order. Writer A takes seq 7, writer B takes seq 8, B
 * commits first; a tailer reading `seq > 6` sees 8, moves its position to 8,
 * and never reads 7 when A commits a moment later: a lost event. Rolled-back
 * transactions also leave holes, so a reader cannot even tell "not yet
 * committed" from "never will be".
 *
 * Here `appendChange` runs `UPDATE change_counter SET last = last + 1
 * RETURNING last` and inserts the change with that number. The UPDATE locks
 * the single counter row until the transaction commits or rolls back, so the
 * next writer's UPDATE waits (under READ COMMITTED it then re-reads the
 * committed row and takes the next number; under SERIALIZABLE it fails with
 * 40001 and the transaction is re-run). Hence:
 * - seq order is commit order: seq n+1 is handed out only after the
 *   transaction holding n has committed, and PostgreSQL makes a commit
 *   visible before it releases its locks, so no snapshot can see n+1
 *   without n;
 * - seqs are gap-free: a rollback also undoes the increment;
 * - the changes of one transaction are contiguous: from its first append to
 *   its commit it holds the counter row, so no other transaction can take a
 *   number in between.
 * The price is that appending changes is serial across all collections, for
 * the short time from the append to the commit: record writes append last,
 * just before committing, and the concurrent writes of one instance share
 * one append and one commit (postgres-group-commit.ts). The ordering test in
 * test/contract/changes-storage.test.ts proves the tailing guarantee.
 */
export function makePostgresChangeRepository(run: Run): ChangeRepository {
  return {
    async appendChange(c) {
      // One statement, so also atomic outside a transaction.
      const result = await run<{ seq: string }>('sigil_append_change',
        `WITH next AS (UPDATE change_counter SET last = last + 1 WHERE id = 1 RETURNING last)
         INSERT INTO changes (${COLUMNS})
         SELECT last, $1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8 FROM next
         RETURNING seq`,
        [c.collection, c.collectionId, c.recordId, c.op, JSON.stringify(c.record), c.previous === null ? null : JSON.stringify(c.previous), c.createdAt, c.txEnd]);
      return Number(result.rows[0]!.seq);
    },
    async appendChanges(list) {
      // One statement for all of them: the counter row is locked (and every
      // other writer waits) from here to the commit, so no round trip per change.
      const result = await run<{ seq: string }>('sigil_append_changes',
        `WITH next AS (UPDATE change_counter SET last = last + $1 WHERE id = 1 RETURNING last)
         INSERT INTO changes (${COLUMNS})
         SELECT next.last - $1 + c.ord, c.collection, c.collection_id, c.record_id, c.op, c.record::jsonb, c.previous::jsonb, c.created_at::timestamptz, c.tx_end
         FROM next, unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::boolean[])
           WITH ORDINALITY AS c(collection, collection_id, record_id, op, record, previous, created_at, tx_end, ord)
         ORDER BY c.ord
         RETURNING seq`,
        [list.length, list.map((c) => c.collection), list.map((c) => c.collectionId), list.map((c) => c.recordId), list.map((c) => c.op),
          list.map((c) => JSON.stringify(c.record)), list.map((c) => (c.previous === null ? null : JSON.stringify(c.previous))),
          list.map((c) => c.createdAt), list.map((c) => c.txEnd)]);
      return result.rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
    },
    async readChanges(afterSeq, limit) {
      const result = await run<ChangeRecord>('sigil_read_changes',
        `SELECT ${COLUMNS} FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2`, [afterSeq, limit]);
      return result.rows.map(toChange);
    },
    async readCollectionChanges(collectionId, afterSeq, limit, maxChars) {
      // The running size is summed in the database so that rows past the
      // budget are never sent; the first row always is, however large.
      const result = await run<ChangeRecord>('sigil_read_collection_changes',
        `SELECT ${COLUMNS} FROM (
           SELECT ${COLUMNS}, sum(octet_length(record::text) + coalesce(octet_length(previous::text), 0)) OVER (ORDER BY seq) AS upto,
                  octet_length(record::text) + coalesce(octet_length(previous::text), 0) AS size
           FROM changes WHERE collection_id = $1 AND seq > $2 ORDER BY seq LIMIT $3
         ) batch WHERE upto - size < $4 ORDER BY seq`,
        [collectionId, afterSeq, limit, maxChars]);
      return result.rows.map(toChange);
    },
    async findTransactionEnd(seq) {
      const result = await run<{ seq: string | null }>('sigil_transaction_end', 'SELECT min(seq) AS seq FROM changes WHERE seq >= $1 AND tx_end', [seq]);
      const end = result.rows[0]?.seq ?? null;
      return end === null ? null : Number(end);
    },
    async latestSeq() {
      const result = await run<{ last: string }>('sigil_latest_seq', 'SELECT last FROM change_counter WHERE id = 1', []);
      return Number(result.rows[0]?.last ?? 0);
    },
    async oldestSeq() {
      const result = await run<{ seq: string | null }>('sigil_oldest_seq', 'SELECT min(seq) AS seq FROM changes', []);
      const seq = result.rows[0]?.seq ?? null;
      return seq === null ? null : Number(seq);
    },
    async pruneChanges(before) {
      // A prefix of the log only, so it stays one gap-free range of seqs:
      // created_at comes from each writer's clock and need not grow with seq,
      // and a hole in the middle would be a silent loss for a client resuming
      // with `since` (it trusts that everything above `oldestSeq` is there).
      const result = await run('sigil_prune_changes',
        `DELETE FROM changes WHERE seq < coalesce(
           (SELECT seq FROM changes WHERE created_at >= $1::timestamptz ORDER BY seq LIMIT 1),
           (SELECT last + 1 FROM change_counter WHERE id = 1))`,
        [before]);
      return result.rowCount ?? 0;
    },
  };
}
