import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSigil, type TestSigil } from '../helpers/test-sigil.js';
import { wsUrl } from '../helpers/ws-client.js';
import { GARBAGE_FLOOD, runAttacker } from './attacker.js';
import { measure, timed } from './measure.js';

const FRAMES = 200_000;

function floodGarbage(url: string): Promise<{ code: number; sent: number; closedAfterMs: number }> {
  return runAttacker(GARBAGE_FLOOD, { url: wsUrl(url), frames: FRAMES });
}

describe('abuse: WebSocket floods', () => {
  it(`${FRAMES} invalid frames with the default error budget: closed with 1008 early`, async () => {
    const t = await startTestSigil({ listen: true });
    try {
      const probe = measure(`invalid-frame flood, default budget (${FRAMES} one-byte frames offered)`);
      const { code, sent, closedAfterMs } = await floodGarbage(t.url!);
      const figures = probe.stop({ closeCode: code, framesSent: sent, closedAfterMs });
      expect(code).toBe(1008);
      expect(closedAfterMs).toBeLessThan(5000);
      expect(figures.rssGrowthMiB).toBeLessThan(64);
      // Cut off after 100 replies and dropped a second later: the rest of the flood is not even parsed.
      expect(figures.eventLoopP99Ms).toBeLessThan(100);
      expect((await t.request({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });

  it(`${FRAMES} invalid frames with no error budget: the replies hit the outbound cap, closed with 4008`, async () => {
    // A 1 MiB cap: the kernel's loopback buffers alone can absorb several MiB of replies.
    const t = await startTestSigil({ listen: true, realtime: { maxErrorsPerMinute: 10_000_000, maxBufferedBytes: 1024 * 1024 } });
    try {
      const probe = measure(`invalid-frame flood, unlimited budget (${FRAMES} one-byte frames offered, 1 MiB cap)`);
      const { code, sent, closedAfterMs } = await floodGarbage(t.url!);
      const figures = probe.stop({ closeCode: code, framesSent: sent, closedAfterMs });
      expect(code).toBe(4008);
      // The cap plus kernel buffers, far from the 185 MiB seen before the cap applied to error replies.
      expect(figures.rssGrowthMiB).toBeLessThan(96);
    } finally {
      await t.close();
    }
  });

  describe('upgrade flood', () => {
    let t: TestSigil;
    const held: WebSocket[] = [];
    beforeAll(async () => {
      t = await startTestSigil({ listen: true });
    });
    afterAll(async () => {
      for (const ws of held) ws.terminate();
      await t.close();
    });

    it('500 upgrades from one address: 100 are let in, the rest refused with 429 before upgrading; others are served', async () => {
      const probe = measure('upgrade flood (500 WebSocket upgrades from one address, REALTIME_MAX_CONNECTIONS_PER_IP=100)');
      const statuses = await Promise.all(
        Array.from(
          { length: 500 },
          () =>
            new Promise<number>((resolve) => {
              const ws = new WebSocket(wsUrl(t.url!));
              ws.once('open', () => {
                held.push(ws);
                resolve(101);
              });
              ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
              ws.once('error', () => resolve(0));
            }),
        ),
      );
      const health = await timed(() => fetch(`${t.url!}/api/health`));
      const opened = statuses.filter((s) => s === 101).length;
      const refused = statuses.filter((s) => s === 429).length;
      probe.stop({ opened, refused, healthAfterMs: Math.round(health.ms) });
      expect(opened).toBe(100);
      expect(refused).toBe(400);
      expect(health.value.status).toBe(200);
    });
  });
});
