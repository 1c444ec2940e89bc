/**
 * What one change means for one subscription (`operationFor`) and its text
 * on the wire (`changeMessage`, serialized once for all subscribers).
 */
import { inScope, type ReadScope } from '../records/access.js';
import { matchesFilter } from '../records/query/evaluate.js';
import type { ChangeRow } from '../records/record.js';
import { toRecordDto, withExpand } from '../records/record-dto.js';
import type { Subscription } from './realtime-connection.js';

// A change is serialized once, however many subscribers receive it: the
// record JSON once, and each distinct (op, subscription id) message once
// (clients commonly use the same ids, e.g. "s1").
const serialized = new WeakMap<ChangeRow, { readonly record: string; readonly messages: Map<string, string> }>();

/**
 * `{"type":"change",…}` for one subscriber, around the shared record JSON.
 * `expand`: the record's `expand` member as JSON text, or null when it was
 * too large to send (the event then says `"expandTooLarge": true`).
 */
export function changeMessage(change: ChangeRow, subId: string, op: 'create' | 'update' | 'delete' | 'leave', txEnd: boolean, expand?: string | null): string {
  let entry = serialized.get(change);
  if (entry === undefined) {
    entry = { record: JSON.stringify(toRecordDto(change.record)), messages: new Map() };
    serialized.set(change, entry);
  }
  if (expand !== undefined) {
    // Expansions differ by subscriber group: spliced in, not kept.
    const record = expand === null ? entry.record : withExpand(entry.record, expand);
    return `{"type":"change","sub":${JSON.stringify(subId)},"seq":${change.seq},"op":"${op}","collection":${JSON.stringify(change.collection)},"record":${record}${expand === null ? ',"expandTooLarge":true' : ''}${txEnd ? ',"txEnd":true' : ''}}`;
  }
  const key = `${op}\u0000${txEnd ? 'end' : ''}\u0000${subId}`;
  let text = entry.messages.get(key);
  if (text === undefined) {
    text = `{"type":"change","sub":${JSON.stringify(subId)},"seq":${change.seq},"op":"${op}","collection":${JSON.stringify(change.collection)},"record":${entry.record}${txEnd ? ',"txEnd":true' : ''}}`;
    entry.messages.set(key, text);
  }
  return text;
}

/**
 * create/delete concern a subscription when the record matches its filter and
 * is in the subscriber's read scope; an update after which it no longer is,
 * while it was before, is a `leave`.
 */
export function operationFor(sub: Subscription, scope: ReadScope, change: ChangeRow): 'create' | 'update' | 'delete' | 'leave' | null {
  if (change.op === 'drop') return null;
  const matches = inScope(scope, change.record) && matchesFilter(sub.filter, change.record);
  if (change.op !== 'update') return matches ? change.op : null;
  if (matches) return 'update';
  return change.previous !== null && inScope(scope, change.previous) && matchesFilter(sub.filter, change.previous) ? 'leave' : null;
}
