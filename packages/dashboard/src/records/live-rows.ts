import type { LiveSnapshot, SigilError } from '@sigil/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { client } from '../client';
import type { Filter } from './keyset';
import type { Row } from './values';

export const FLASH_MS = 1600;

export interface LiveRows {
  readonly snapshot: LiveSnapshot<Row> | null;
  /** Rows changed or added since the previous result of the same query: id → 1 or 2 (alternating restarts the animation). */
  readonly flashing: ReadonlyMap<string, number>;
  readonly error: SigilError | undefined;
  /** The query the snapshot answers (a new query keeps showing the old rows until its first result). */
  readonly current: boolean;
}

/**
 * A live window of the collection. Results are rendered at most once per
 * frame: at 200 writes a second the listener hears of most of them, the
 * page paints the latest.
 */
export function useLiveRows(name: string, query: { filter: Filter; sort: string; limit: number; expand: readonly string[] }): LiveRows {
  const key = JSON.stringify([name, query.filter, query.sort, query.limit, query.expand]);
  const [state, setState] = useState<LiveRows>({ snapshot: null, flashing: new Map(), error: undefined, current: false });
  const flashes = useRef(new Map<string, { until: number; turn: number }>());
  useEffect(() => {
    let frame = 0;
    let latest: LiveSnapshot<Row> | null = null;
    let previous: Map<string, number> | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    flashes.current = new Map();
    setState((s) => ({ ...s, error: undefined, current: false }));

    const publish = (): void => {
      const now = performance.now();
      const map = new Map<string, number>();
      for (const [id, f] of flashes.current) {
        if (f.until > now) map.set(id, f.turn);
        else flashes.current.delete(id);
      }
      setState({ snapshot: latest, flashing: map, error: undefined, current: true });
      clearTimeout(timer);
      if (flashes.current.size > 0) timer = setTimeout(publish, Math.max(50, Math.min(...[...flashes.current.values()].map((f) => f.until)) - now));
    };
    const paint = (): void => {
      frame = 0;
      const snap = latest;
      if (!snap) return;
      const versions = new Map(snap.items.map((r) => [r.id, r.version]));
      if (previous) {
        const now = performance.now();
        for (const [id, version] of versions) {
          if (previous.get(id) === version) continue;
          const turn = flashes.current.get(id)?.turn === 1 ? 2 : 1;
          flashes.current.set(id, { until: now + FLASH_MS, turn });
        }
      }
      previous = versions;
      publish();
    };
    const live = client.collection(name).live(
      { filter: query.filter, sort: query.sort, limit: query.limit, ...(query.expand.length > 0 ? { expand: query.expand } : {}) },
      (snapshot) => {
        latest = snapshot;
        if (frame === 0) frame = requestAnimationFrame(paint);
      },
      // A refused query shows no rows: the old ones would pass for its answer.
      (error) => setState({ snapshot: null, flashing: new Map(), error, current: true }),
    );
    return () => {
      live.close();
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [key]);
  return state;
}
