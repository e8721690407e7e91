import { createServer, type Server } from 'node:http';
import type { IntegratedCacheManager } from '../core/integrated_cache_manager.js';
import { quickTune } from '../tuning/quick_tune.js';

export interface DashboardOptions {
  /** @default 0 (any free port) */
  port?: number;
  /** Only loopback by default: the page shows keys' figures and health. @default '127.0.0.1' */
  host?: string;
  /** How often figures are pushed to the page, in ms. @default 500 */
  intervalMs?: number;
  /** How often the miss-ratio curve is re-measured from live traffic, in ms (0: never). @default 15000 */
  curveEveryMs?: number;
  /**
   * With security on: an ADMIN session. It is checked (and audited) before the server starts, and
   * every figure the page shows is read under it; without one the dashboard does not start.
   */
  sessionId?: string;
}

export interface Dashboard {
  url: string;
  close(): Promise<void>;
}

/**
 * A live dashboard for one cache: a page on localhost fed by Server-Sent Events with the measured
 * figures (hit ratio overall and per tier, ops/s, latency percentiles, memory, health) every
 * `intervalMs`, and the L1 miss-ratio curve from quickTune every `curveEveryMs`. `/metrics` serves
 * the Prometheus text. No external assets: the page draws its charts on canvas itself.
 */
export async function startDashboard<S extends object>(cache: IntegratedCacheManager<S>, options: DashboardOptions = {}): Promise<Dashboard> {
  const sid = options.sessionId === undefined ? {} : { sessionId: options.sessionId };
  // The page shows the cache's figures: refused (and audited) before anything listens.
  let stats = await cache.getStats(sid);
  const clients = new Set<import('node:http').ServerResponse>();
  let health: unknown = null;
  let curve: { size: number; hitRatio: number }[] = [];
  let current = 0;
  const metrics = cache.metricsHandler;
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/' || url.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE);
    } else if (url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write('retry: 1000\n\n');
      clients.add(res);
      req.on('close', () => clients.delete(res));
    } else if (url === '/metrics') {
      metrics(req, res);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  let reading = false;
  const read = async (): Promise<void> => {
    if (reading || clients.size === 0) return;
    reading = true;
    try {
      stats = await cache.getStats(sid);
    } catch {
      // a closed cache or a session that ended: keep the last figures
    } finally {
      reading = false;
    }
  };
  const push = (): void => {
    if (clients.size === 0) return;
    void read();
    const s = stats;
    const payload = JSON.stringify({
      t: Date.now(),
      hitRate: s.hitRate,
      l1HitRate: s.l1.enabled ? s.l1.hitRate : null,
      l2HitRate: s.l2.hits + s.l2.misses === 0 ? null : s.l2.hits / (s.l2.hits + s.l2.misses),
      hits: s.hits,
      misses: s.misses,
      opsPerSecond: s.opsPerSecond,
      latency: s.latency,
      memoryMb: s.memoryUsageMb,
      processMemoryMb: s.processMemoryMb,
      l1Entries: s.l1.enabled ? s.l1.size : 0,
      health,
      curve,
      currentL1: current,
    });
    for (const c of clients) c.write(`data: ${payload}\n\n`);
  };
  const tick = setInterval(push, options.intervalMs ?? 500);
  tick.unref();
  const refreshHealth = async (): Promise<void> => {
    try {
      const h = await cache.healthCheck(sid);
      health = { overallHealth: h.overallHealth, redisConnected: h.redisConnected, issues: h.issues, recommendations: h.recommendations, pressure: h.memory.pressureLevel };
    } catch (err) {
      health = { overallHealth: 'unknown', issues: [String((err as Error).message)] };
    }
  };
  await refreshHealth();
  const healthTimer = setInterval(() => void refreshHealth(), 2000);
  healthTimer.unref();
  let curveTimer: NodeJS.Timeout | null = null;
  let tuning = false;
  const refreshCurve = async (): Promise<void> => {
    if (tuning) return;
    tuning = true;
    try {
      const r = await quickTune(cache, { accesses: 20_000, timeoutMs: 5000, ...sid });
      if (r.samples > 100) {
        curve = r.curve;
        current = r.currentL1Size;
      }
    } catch {
      // no traffic or no L1: keep the last curve
    } finally {
      tuning = false;
    }
  };
  if ((options.curveEveryMs ?? 15_000) > 0) {
    void refreshCurve();
    curveTimer = setInterval(() => void refreshCurve(), options.curveEveryMs ?? 15_000);
    curveTimer.unref();
  }
  const address = server.address() as { port: number };
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}/`,
    close: async () => {
      clearInterval(tick);
      clearInterval(healthTimer);
      if (curveTimer !== null) clearInterval(curveTimer);
      for (const c of clients) c.end();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tiercache</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;background:#fafafa;color:#222}
h1{font-size:18px;margin:0 0 16px}
.grid{display:grid;grid-template-columns:repeat(4,minmax(150px,1fr));gap:12px;margin-bottom:16px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px}
.card .v{font-size:22px;font-weight:600}
.card .l{color:#666;font-size:12px}
canvas{background:#fff;border:1px solid #ddd;border-radius:6px}
.healthy{color:#16803c}.degraded{color:#b7791f}.unhealthy{color:#c53030}
ul{margin:4px 0;padding-left:18px}
</style></head><body>
<h1>tiercache — live</h1>
<div class="grid">
 <div class="card"><div class="l">hit rate</div><div class="v" id="hitRate">–</div></div>
 <div class="card"><div class="l">L1 / L2 hit rate</div><div class="v"><span id="l1HitRate">–</span> / <span id="l2HitRate">–</span></div></div>
 <div class="card"><div class="l">ops/s (10 s)</div><div class="v" id="opsPerSecond">–</div></div>
 <div class="card"><div class="l">operations</div><div class="v" id="operations">–</div></div>
 <div class="card"><div class="l">read p50 / p95 / p99 ms</div><div class="v" id="latency">–</div></div>
 <div class="card"><div class="l">L1 entries / MiB</div><div class="v" id="memory">–</div></div>
 <div class="card"><div class="l">process MiB</div><div class="v" id="process">–</div></div>
 <div class="card"><div class="l">health</div><div class="v" id="health">–</div></div>
</div>
<canvas id="series" width="900" height="220" data-points="0"></canvas>
<h2 style="font-size:15px">L1 miss-ratio curve (predicted hit ratio by L1 size, from live traffic)</h2>
<canvas id="mrc" width="900" height="220" data-points="0"></canvas>
<div id="issues"></div>
<script>
const $ = (id) => document.getElementById(id);
const pct = (x) => x == null ? '–' : (x * 100).toFixed(1) + '%';
const hist = [];
function line(canvas, series, colors, fmt) {
  const g = canvas.getContext('2d'); const W = canvas.width, H = canvas.height;
  g.clearRect(0, 0, W, H); g.strokeStyle = '#eee';
  for (let i = 1; i < 4; i++) { g.beginPath(); g.moveTo(40, H * i / 4); g.lineTo(W, H * i / 4); g.stroke(); }
  series.forEach((s, k) => {
    const max = Math.max(1e-9, ...s.map((p) => p[1]));
    const minX = s.length ? s[0][0] : 0, maxX = s.length ? s[s.length - 1][0] : 1;
    g.strokeStyle = colors[k]; g.lineWidth = 2; g.beginPath();
    s.forEach((p, i) => { const x = 40 + (W - 50) * ((p[0] - minX) / Math.max(1e-9, maxX - minX)); const y = H - 10 - (H - 20) * (p[1] / (fmt[k] === 'ratio' ? 1 : max)); i ? g.lineTo(x, y) : g.moveTo(x, y); });
    g.stroke(); g.fillStyle = colors[k]; g.fillText(fmt[k] === 'ratio' ? 'hit rate' : 'ops/s (max ' + max.toFixed(0) + ')', 48 + k * 160, 14);
  });
  canvas.dataset.points = String(series.reduce((n, s) => n + s.length, 0));
}
const es = new EventSource('/events');
es.onmessage = (e) => {
  const d = JSON.parse(e.data);
  $('hitRate').textContent = pct(d.hitRate);
  $('l1HitRate').textContent = pct(d.l1HitRate);
  $('l2HitRate').textContent = pct(d.l2HitRate);
  $('opsPerSecond').textContent = Math.round(d.opsPerSecond).toLocaleString('en');
  $('operations').textContent = (d.hits + d.misses).toLocaleString('en');
  const l = [d.latency.get, d.latency.getOrSet, d.latency.set].find((x) => x && x.count > 0);
  $('latency').textContent = l && l.count ? [l.p50Ms, l.p95Ms, l.p99Ms].map((x) => x.toFixed(2)).join(' / ') : '–';
  $('memory').textContent = d.l1Entries.toLocaleString('en') + ' / ' + d.memoryMb.toFixed(1);
  $('process').textContent = d.processMemoryMb.toFixed(0);
  const h = d.health || {};
  $('health').textContent = h.overallHealth || '–'; $('health').className = 'v ' + (h.overallHealth || '');
  $('issues').innerHTML = ((h.issues || []).concat(h.recommendations || [])).map((x) => '<li>' + x.replace(/</g, '&lt;') + '</li>').join('');
  hist.push([d.t, d.hitRate, d.opsPerSecond]); if (hist.length > 240) hist.shift();
  line($('series'), [hist.map((p) => [p[0], p[1]]), hist.map((p) => [p[0], p[2]])], ['#2b6cb0', '#dd6b20'], ['ratio', 'abs']);
  if (d.curve.length) line($('mrc'), [d.curve.map((p) => [Math.log2(p.size), p.hitRatio])], ['#2f855a'], ['ratio']);
};
</script></body></html>`;
