/**
 * The records browser under load: 100,000 records in the collection and 200
 * writes a second arriving from Node.js (creates, updates and deletes of
 * the records on the page) while the page shows the first page live.
 * Measured in the page: long tasks (PerformanceObserver 'longtask') and
 * input-to-paint (from the input event's timestamp to the frame after the
 * DOM shows the result), for typing in the filter box and clicking sort
 * headers; Event Timing entries give the browser's own figure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_BROWSER, signIn, startHarness, type Harness } from './harness.js';

const RECORDS = 100_000;
const BATCH = 100;
const WRITERS = 4;
const WRITES_PER_SECOND = 200;
const STATUSES = ['open', 'closed', 'blocked'] as const;
/** Main-thread work at most this long at a time: a frame is missed, input is never stuck (RAIL: respond within 100 ms; a 2-core machine shared with the server and the writer). */
const LONG_TASK_BOUND_MS = 200;
/** The 95th percentile from input to the painted frame that shows it: under RAIL's 100 ms "instant" bound. */
const INPUT_TO_PAINT_P95_MS = 100;

interface Rec { id: string; version: number }

const IN_PAGE = `(() => {
  const w = window;
  w.__longTasks = [];
  w.__events = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) w.__longTasks.push(e.duration); }).observe({ type: 'longtask' });
  new PerformanceObserver((list) => { for (const e of list.getEntries()) if (e.interactionId) w.__events.push({ name: e.name, duration: e.duration }); }).observe({ type: 'event', durationThreshold: 16 });
  /** Arms a measurement: ms from the next input event of 'type' to the frame after 'done()' holds; __measured() waits for it. */
  w.__arm = (type, done) => {
    w.__measured = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ' + type + ' seen, or the page never showed it')), 15000);
      addEventListener(type, (event) => {
        const t0 = event.timeStamp;
        const check = () => {
          if (!done()) return void requestAnimationFrame(check);
          // the frame is painted after this rAF callback; a task queued in it runs past the paint
          requestAnimationFrame(() => setTimeout(() => { clearTimeout(timer); resolve(performance.now() - t0); }, 0));
        };
        setTimeout(check, 0);
      }, { capture: true, once: true });
    });
  };
})()`;

describe.skipIf(NO_BROWSER)('the dashboard: records browser under load', () => {
  let h: Harness;
  let insertSeconds = 0;

  beforeAll(async () => {
    h = await startHarness();
    const schema = { type: 'object', required: ['title'], properties: { title: { type: 'string' }, n: { type: 'integer' }, status: { type: 'string', enum: STATUSES }, score: { type: 'number' } } };
    expect((await h.api('POST', '/api/collections', { name: 'events', schema })).status).toBe(201);
    const started = performance.now();
    let next = 0;
    const writer = async (): Promise<void> => {
      for (let b = next++; b < RECORDS / BATCH; b = next++) {
        const operations = Array.from({ length: BATCH }, (_, i) => {
          const n = b * BATCH + i;
          return { op: 'create', collection: 'events', record: { title: `event ${String(n).padStart(6, '0')}`, n, status: STATUSES[n % 3], score: (n * 7919) % 1000 } };
        });
        const res = await h.api('POST', '/api/batch', { operations });
        if (res.status !== 200) throw new Error(`batch ${b}: ${res.status} ${JSON.stringify(res.body)}`);
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, writer));
    insertSeconds = (performance.now() - started) / 1000;
    console.log(`inserted ${RECORDS} records in ${insertSeconds.toFixed(1)} s (${RECORDS / BATCH} batches of ${BATCH}, ${WRITERS} writers over HTTP): ${Math.round(RECORDS / insertSeconds)} records/s`);
  }, 180_000);
  afterAll(async () => h?.close());

  it(`stays responsive with ${RECORDS} records and ${WRITES_PER_SECOND} writes/s arriving`, { timeout: 120_000 }, async () => {
    const page = await h.open({ hash: '#/collections/events/records' });
    await signIn(page);
    await page.locator('tbody tr').nth(49).waitFor({ timeout: 20_000 });
    await page.evaluate(IN_PAGE);

    // 200 writes a second, each its own request: creates (they enter the page at the top), updates and deletes of the newest records.
    const recent: Rec[] = [];
    let sent = 0;
    let failed = 0;
    let stop = false;
    const seen = new Set<string>();
    const write = async (k: number): Promise<void> => {
      const kind = k % 10;
      const target = recent.length > 20 ? recent[Math.floor(Math.random() * recent.length)]! : undefined;
      let res;
      if (kind < 5 || !target) res = await h.api<Rec>('POST', '/api/collections/events/records', { title: `live ${k}`, n: -k, status: STATUSES[k % 3], score: k % 1000 });
      else if (kind < 9) res = await h.api<Rec>('PATCH', `/api/collections/events/records/${target.id}`, { score: k % 1000, title: `changed ${k}` });
      else {
        recent.splice(recent.indexOf(target), 1);
        res = await h.api<Rec>('DELETE', `/api/collections/events/records/${target.id}`);
      }
      if (res.status >= 300 && res.status !== 404) failed++;
      else if (res.body && res.status < 300 && !seen.has(res.body.id)) {
        seen.add(res.body.id);
        recent.push(res.body);
        if (recent.length > 200) recent.shift();
      }
    };
    const t0 = performance.now();
    let pump: Promise<void> = Promise.resolve();
    const latencies: { what: string; ms: number }[] = [];
    const dataMs: number[] = [];
    try {
    pump = (async () => {
      const inflight = new Set<Promise<void>>();
      while (!stop) {
        const due = Math.floor(((performance.now() - t0) / 1000) * WRITES_PER_SECOND);
        while (sent < due && inflight.size < 64) {
          const p = write(sent++).finally(() => inflight.delete(p));
          inflight.add(p);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      await Promise.all(inflight);
    })();

    const timeNext = async (what: string, type: string, done: string, act: () => Promise<void>): Promise<void> => {
      await page.evaluate(`window.__arm(${JSON.stringify(type)}, () => ${done})`);
      await act();
      latencies.push({ what, ms: await page.evaluate<number>('window.__measured') });
    };
    const rowsReflect = async (act: () => Promise<void>): Promise<number> => {
      const start = Date.now();
      await act();
      await page.locator('.rec-wrap:not([aria-busy])').waitFor();
      return Date.now() - start;
    };
    await page.waitForTimeout(2000); // the writes are flowing
    const header = (name: string) => page.locator('thead th').filter({ has: page.getByRole('button', { name, exact: true }) });
    for (let round = 0; round < 3; round++) {
      for (const [name, state] of [['title', 'ascending'], ['title', 'descending'], ['score', 'ascending']] as const) {
        dataMs.push(await rowsReflect(() => timeNext(`sort ${name} ${state}`, 'click', `document.querySelector('thead th[aria-sort="${state}"]')?.textContent.includes('${name}')`, () => header(name).getByRole('button').click())));
      }
      const box = page.getByLabel('Raw filter (JSON)');
      await box.fill('');
      await box.focus();
      const text = '{"status": "open"}';
      for (let i = 0; i < text.length; i++) {
        const expected = text.slice(0, i + 1);
        await timeNext('type in the filter box', 'keydown', `document.querySelector('.rec-raw-text').value === ${JSON.stringify(expected)}`, () => page.keyboard.type(text[i]!));
      }
      dataMs.push(await rowsReflect(() => page.getByRole('button', { name: 'Apply raw filter' }).click()));
      await page.getByRole('button', { name: 'Clear filter' }).click();
      await page.locator('.rec-wrap:not([aria-busy])').waitFor();
    }
    } finally {
      stop = true;
      await pump;
    }
    const writeSeconds = (performance.now() - t0) / 1000;

    const longTasks = await page.evaluate<number[]>('window.__longTasks');
    const events = await page.evaluate<{ name: string; duration: number }[]>('window.__events');
    const ms = latencies.map((l) => l.ms).sort((a, b) => a - b);
    const p = (q: number): number => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!;
    const figures = {
      records: RECORDS,
      insertSeconds: Number(insertSeconds.toFixed(1)),
      writesPerSecond: Math.round(sent / writeSeconds),
      failedWrites: failed,
      seconds: Number(writeSeconds.toFixed(1)),
      inputs: ms.length,
      inputToPaintMs: { p50: Math.round(p(0.5)), p95: Math.round(p(0.95)), max: Math.round(ms.at(-1)!) },
      bySort: Math.round(Math.max(...latencies.filter((l) => l.what.startsWith('sort')).map((l) => l.ms))),
      byTyping: Math.round(Math.max(...latencies.filter((l) => l.what.startsWith('type')).map((l) => l.ms))),
      rowsShownMs: { max: Math.max(...dataMs), median: dataMs.sort((a, b) => a - b)[Math.floor(dataMs.length / 2)]! },
      longTasks: { count: longTasks.length, maxMs: Math.round(Math.max(0, ...longTasks)), totalMs: Math.round(longTasks.reduce((a, b) => a + b, 0)) },
      eventTiming: { slowInteractions: events.length, maxMs: Math.max(0, ...events.map((e) => e.duration)) },
    };
    console.log(`records browser under load: ${JSON.stringify(figures)}`);
    await page.context().close();

    expect(failed).toBe(0);
    expect(figures.writesPerSecond).toBeGreaterThanOrEqual(WRITES_PER_SECOND * 0.9);
    expect(figures.longTasks.maxMs).toBeLessThan(LONG_TASK_BOUND_MS);
    expect(figures.inputToPaintMs.p95).toBeLessThan(INPUT_TO_PAINT_P95_MS);
    expect(h.problems).toEqual([]);
  });
});
