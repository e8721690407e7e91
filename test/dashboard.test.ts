/// <reference lib="dom" />
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { createIntegratedCache, startDashboard } from '../src/index.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (CHROMIUM === undefined && process.env.CI) throw new Error('chromium is required in CI for the dashboard test (.ci/run installs it)');

describe.skipIf(CHROMIUM === undefined)('live dashboard in headless Chromium', () => {
  it('shows hit rate, latency, ops/s, memory and health, and the numbers move with load', async () => {
    const cache = createIntegratedCache({ l1MaxSize: 500, logLevel: 'silent' });
    await cache.initialize();
    const dash = await startDashboard(cache, { intervalMs: 200, curveEveryMs: 1000 });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] });
    let running = true;
    try {
      const page = await browser.newPage();
      await page.goto(dash.url);
      await page.waitForFunction(() => document.getElementById('health')?.textContent !== '–', undefined, { timeout: 10_000 });
      const read = () =>
        page.evaluate(() => ({
          ops: Number((document.getElementById('operations')?.textContent ?? '0').replace(/,/g, '')),
          hitRate: document.getElementById('hitRate')?.textContent,
          opsPerSecond: Number((document.getElementById('opsPerSecond')?.textContent ?? '0').replace(/,/g, '')),
          latency: document.getElementById('latency')?.textContent,
          health: document.getElementById('health')?.textContent,
          points: Number(document.getElementById('series')?.dataset.points),
          mrc: Number(document.getElementById('mrc')?.dataset.points),
          errorRate: document.getElementById('errorRate')?.textContent,
          redisLatency: document.getElementById('redisLatency')?.textContent,
          evictions: Number((document.getElementById('evictions')?.textContent ?? '0').replace(/,/g, '')),
          tuning: Array.from(document.querySelectorAll('#tuning li'), (li) => li.textContent ?? ''),
          series: { ...(document.getElementById('series') as HTMLCanvasElement).dataset },
          curve: { ...(document.getElementById('mrc') as HTMLCanvasElement).dataset },
        }));
      const before = await read();
      expect(before.ops).toBe(0);
      expect(before.health).toBe('healthy');
      // Load: read-through over 5,000 keys with a 500-entry L1.
      const load = (async () => {
        let i = 0;
        while (running) {
          await cache.getOrSet(`k${(i * 7919) % 5000}`, () => i);
          if (++i % 200 === 0) await new Promise((r) => setImmediate(r));
        }
      })();
      await page.waitForFunction(() => Number((document.getElementById('operations')?.textContent ?? '0').replace(/,/g, '')) > 10_000, undefined, { timeout: 15_000 });
      const during = await read();
      await page.waitForFunction(() => Number(document.getElementById('mrc')?.dataset.points) > 0, undefined, { timeout: 15_000 });
      // The first quickTune may have started before the load (a flat curve, no advice): wait for one that saw it.
      await page.waitForFunction(() => (document.getElementById('mrc')?.dataset.markers ?? '').includes('recommended'), undefined, { timeout: 20_000 });
      await page.waitForFunction((n) => Number((document.getElementById('operations')?.textContent ?? '0').replace(/,/g, '')) > n, during.ops, { timeout: 15_000 });
      const later = await read();
      running = false;
      await load;
      expect(during.ops).toBeGreaterThan(before.ops);
      expect(later.ops).toBeGreaterThan(during.ops);
      expect(during.opsPerSecond).toBeGreaterThan(0);
      expect(during.hitRate).toMatch(/%$/);
      expect(during.hitRate).not.toBe('0.0%');
      expect(during.latency).toMatch(/\d+\.\d+ \/ \d+\.\d+ \/ \d+\.\d+/);
      expect(later.points).toBeGreaterThan(before.points);
      expect(later.mrc).toBeGreaterThan(2);
      // Issue 16: axes with ticks and units, separate axes for hit rate and ops/s, markers, more figures.
      expect(later.series.xAxis).toMatch(/time \(s/);
      expect(JSON.parse(later.series.xTicks ?? '[]')).toContain('now');
      expect(JSON.parse(later.series.xTicks ?? '[]').some((t: string) => /^-\d+ s$/.test(t))).toBe(true);
      expect(later.series.leftAxis).toMatch(/hit rate \(%\)/);
      expect(JSON.parse(later.series.leftTicks ?? '[]')).toEqual(['0%', '25%', '50%', '75%', '100%']);
      expect(later.series.rightAxis).toBe('ops/s');
      const opsTop = (d: Record<string, string | undefined>) => {
        const ticks = JSON.parse(d.rightTicks ?? '[]') as string[];
        const top = ticks.at(-1) ?? '0';
        return Number(top.replace(/k$/, '')) * (top.endsWith('k') ? 1000 : 1);
      };
      expect(opsTop(later.series)).toBeGreaterThan(opsTop(before.series)); // the ops/s axis follows the load
      expect(opsTop(later.series)).toBeGreaterThanOrEqual(later.opsPerSecond * 0.5);
      expect(later.curve.xAxis).toMatch(/L1 size \(entries/);
      expect(JSON.parse(later.curve.xTicks ?? '[]').length).toBeGreaterThanOrEqual(3);
      const markers = JSON.parse(later.curve.markers ?? '[]') as { label: string; value: number }[];
      expect(markers.find((m) => m.label.startsWith('current'))?.value).toBe(500);
      expect(markers.find((m) => m.label.startsWith('recommended'))?.value).toBeGreaterThan(500);
      expect(before.evictions).toBe(0);
      expect(later.evictions).toBeGreaterThan(during.evictions);
      expect(later.errorRate).toBe('0.00%');
      expect(later.redisLatency).toBe('no Redis (L1 only)');
      expect(later.tuning.some((t) => /^Grow L1 to \d+ entries: /.test(t))).toBe(true);
      if (process.env.DASHBOARD_SCREENSHOT) await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true });
    } finally {
      running = false;
      await browser.close();
      await dash.close();
      await cache.close();
    }
  }, 60_000);
});
