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
  let recommended: number | null = null;
  let tuning: { title: string; description: string }[] = [];
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
      evictions: s.l1.enabled ? s.l1.evictions : 0,
      errorRate: s.errorRate,
      health,
      curve,
      currentL1: current,
      recommendedL1: recommended,
      tuning,
    });
    for (const c of clients) c.write(`data: ${payload}\n\n`);
  };
  const tick = setInterval(push, options.intervalMs ?? 500);
  tick.unref();
  const refreshHealth = async (): Promise<void> => {
    try {
      const h = await cache.healthCheck(sid);
      health = { overallHealth: h.overallHealth, redisConnected: h.redisConnected, redisLatencyMs: h.redisLatencyMs, issues: h.issues, recommendations: h.recommendations, pressure: h.memory.pressureLevel };
    } catch (err) {
      health = { overallHealth: 'unknown', issues: [String((err as Error).message)] };
    }
  };
  await refreshHealth();
  const healthTimer = setInterval(() => void refreshHealth(), 2000);
  healthTimer.unref();
  let curveTimer: NodeJS.Timeout | null = null;
  let tuningNow = false;
  const refreshCurve = async (): Promise<void> => {
    if (tuningNow) return;
    tuningNow = true;
    try {
      const r = await quickTune(cache, { accesses: 20_000, timeoutMs: 5000, ...sid });
      if (r.samples > 100) {
        curve = r.curve;
        current = r.currentL1Size;
        // The size recommendation that gains hit ratio (not the memory-saving one) is the marker.
        const grow = r.recommendations.find((x) => x.kind === 'resize-l1' && x.predictedGain > 0);
        recommended = grow === undefined ? null : (grow.change.to as number);
        tuning = r.getTopRecommendations(3).map((x) => ({ title: x.title, description: x.description }));
      }
    } catch {
      // no traffic or no L1: keep the last curve
    } finally {
      tuningNow = false;
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
h2{font-size:15px;margin:16px 0 6px}
.grid{display:grid;grid-template-columns:repeat(4,minmax(150px,1fr));gap:12px;margin-bottom:16px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px}
.card .v{font-size:22px;font-weight:600}
.card .l{color:#666;font-size:12px}
canvas{background:#fff;border:1px solid #ddd;border-radius:6px}
.healthy{color:#16803c}.degraded{color:#b7791f}.unhealthy{color:#c53030}
ul{margin:4px 0;padding-left:18px}
#tuning li b{font-weight:600}
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
 <div class="card"><div class="l">error rate (L2 + loader errors / ops)</div><div class="v" id="errorRate">–</div></div>
 <div class="card"><div class="l">Redis PING ms</div><div class="v" id="redisLatency">–</div></div>
 <div class="card"><div class="l">L1 evictions</div><div class="v" id="evictions">–</div></div>
</div>
<h2>Hit rate (left axis) and ops/s (right axis) over time</h2>
<canvas id="series" width="900" height="240" data-points="0"></canvas>
<h2>L1 miss-ratio curve (predicted hit ratio by L1 size, from live traffic)</h2>
<canvas id="mrc" width="900" height="240" data-points="0"></canvas>
<h2>quickTune recommendations</h2>
<ul id="tuning"><li>waiting for traffic…</li></ul>
<h2>Health</h2>
<ul id="issues"></ul>
<script>
const $ = (id) => document.getElementById(id);
const pct = (x) => x == null ? '–' : (x * 100).toFixed(1) + '%';
const esc = (x) => String(x).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const hist = [];
/** Round steps (1, 2, 5 × 10^k) so that about n ticks span 0..max. */
function niceTicks(max, n) {
  const raw = Math.max(max, 1e-9) / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  const out = []; for (let v = 0; v <= max + step / 2; v += step) out.push(v);
  if (out[out.length - 1] < max) out.push(out[out.length - 1] + step);
  return out;
}
const short = (v) => v >= 1e6 ? (v / 1e6).toFixed(v % 1e6 ? 1 : 0) + 'M' : v >= 1e3 ? (v / 1e3).toFixed(v % 1e3 ? 1 : 0) + 'k' : String(Math.round(v * 100) / 100);
/**
 * A chart with axes: x ticks and unit, a left axis, an optional right axis, markers (vertical
 * lines). What it drew is also put on the canvas' data attributes, for tests and screen readers.
 */
function chart(canvas, c) {
  const g = canvas.getContext('2d'); const W = canvas.width, H = canvas.height;
  const L = 64, R = c.right ? 64 : 16, T = 24, B = 36, w = W - L - R, h = H - T - B;
  g.clearRect(0, 0, W, H); g.font = '11px system-ui,sans-serif'; g.lineWidth = 1;
  const X = (x) => L + w * (x - c.x.min) / Math.max(1e-9, c.x.max - c.x.min);
  const Y = (axis, y) => T + h - h * (y - axis.min) / Math.max(1e-9, axis.max - axis.min);
  g.strokeStyle = '#999'; g.beginPath(); g.moveTo(L, T); g.lineTo(L, T + h); g.lineTo(L + w, T + h); if (c.right) g.lineTo(L + w, T); g.stroke();
  g.fillStyle = '#555'; g.textAlign = 'center';
  for (const [v, label] of c.x.ticks) { const x = X(v); g.strokeStyle = '#999'; g.beginPath(); g.moveTo(x, T + h); g.lineTo(x, T + h + 4); g.stroke(); g.fillText(label, x, T + h + 15); }
  g.fillText(c.x.title, L + w / 2, H - 4);
  g.textAlign = 'right';
  for (const [v, label] of c.left.ticks) { const y = Y(c.left, v); g.strokeStyle = '#eee'; g.beginPath(); g.moveTo(L, y); g.lineTo(L + w, y); g.stroke(); g.fillText(label, L - 6, y + 4); }
  if (c.right) { g.textAlign = 'left'; for (const [v, label] of c.right.ticks) g.fillText(label, L + w + 6, Y(c.right, v) + 4); }
  g.textAlign = 'left'; g.fillStyle = c.series[0].color; g.fillText(c.left.title, 4, 14);
  if (c.right) { g.textAlign = 'right'; g.fillStyle = c.series[1].color; g.fillText(c.right.title, W - 4, 14); }
  for (const s of c.series) {
    const axis = s.axis === 'right' ? c.right : c.left;
    g.strokeStyle = s.color; g.lineWidth = 2; g.beginPath();
    s.pts.forEach((p, i) => { const x = X(p[0]), y = Y(axis, p[1]); i ? g.lineTo(x, y) : g.moveTo(x, y); });
    g.stroke(); g.lineWidth = 1;
  }
  g.textAlign = 'left';
  for (const m of c.markers || []) {
    const x = X(m.x); g.strokeStyle = m.color; g.setLineDash([5, 4]); g.beginPath(); g.moveTo(x, T); g.lineTo(x, T + h); g.stroke(); g.setLineDash([]);
    g.fillStyle = m.color; g.fillText(m.label, Math.min(x + 4, L + w - 120), T + 12 + 13 * (m.row || 0));
  }
  canvas.dataset.points = String(c.series.reduce((n, s) => n + s.pts.length, 0));
  canvas.dataset.xAxis = c.x.title; canvas.dataset.xTicks = JSON.stringify(c.x.ticks.map((t) => t[1]));
  canvas.dataset.leftAxis = c.left.title; canvas.dataset.leftTicks = JSON.stringify(c.left.ticks.map((t) => t[1]));
  if (c.right) { canvas.dataset.rightAxis = c.right.title; canvas.dataset.rightTicks = JSON.stringify(c.right.ticks.map((t) => t[1])); }
  canvas.dataset.markers = JSON.stringify((c.markers || []).map((m) => ({ label: m.label, value: m.value })));
}
const ratioAxis = (title) => ({ min: 0, max: 1, title, ticks: [0, 0.25, 0.5, 0.75, 1].map((v) => [v, (v * 100) + '%']) });
function drawSeries() {
  const now = hist[hist.length - 1][0], span = Math.max(10, (now - hist[0][0]) / 1000);
  const step = [5, 10, 15, 30, 60, 120].find((s) => span / s <= 6) || 300;
  const xt = []; for (let v = 0; v <= span; v += step) xt.unshift([-v, v === 0 ? 'now' : '-' + v + ' s']);
  const opsMax = Math.max(1, ...hist.map((p) => p[2]));
  const ot = niceTicks(opsMax, 4);
  chart($('series'), {
    x: { min: -span, max: 0, ticks: xt, title: 'time (s, relative to now)' },
    left: ratioAxis('hit rate (%)'),
    right: { min: 0, max: ot[ot.length - 1], title: 'ops/s', ticks: ot.map((v) => [v, short(v)]) },
    series: [
      { color: '#2b6cb0', axis: 'left', pts: hist.map((p) => [(p[0] - now) / 1000, p[1]]) },
      { color: '#dd6b20', axis: 'right', pts: hist.map((p) => [(p[0] - now) / 1000, p[2]]) },
    ],
  });
}
function drawCurve(d) {
  const xs = d.curve.map((p) => Math.log2(p.size));
  const markers = [];
  if (d.currentL1) markers.push({ x: Math.log2(d.currentL1), value: d.currentL1, label: 'current ' + short(d.currentL1), color: '#555', row: 0 });
  if (d.recommendedL1) markers.push({ x: Math.log2(d.recommendedL1), value: d.recommendedL1, label: 'recommended ' + short(d.recommendedL1), color: '#2f855a', row: 1 });
  chart($('mrc'), {
    x: { min: Math.min(...xs), max: Math.max(...xs), ticks: d.curve.map((p) => [Math.log2(p.size), short(p.size)]), title: 'L1 size (entries, log scale)' },
    left: ratioAxis('predicted L1 hit ratio (%)'),
    series: [{ color: '#2f855a', axis: 'left', pts: d.curve.map((p) => [Math.log2(p.size), p.hitRatio]) }],
    markers,
  });
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
  $('errorRate').textContent = (d.errorRate * 100).toFixed(2) + '%';
  $('evictions').textContent = d.evictions.toLocaleString('en');
  const h = d.health || {};
  $('redisLatency').textContent = h.redisConnected == null ? 'no Redis (L1 only)' : h.redisConnected ? h.redisLatencyMs.toFixed(2) : 'unreachable';
  $('health').textContent = h.overallHealth || '–'; $('health').className = 'v ' + (h.overallHealth || '');
  $('issues').innerHTML = ((h.issues || []).concat(h.recommendations || [])).map((x) => '<li>' + esc(x) + '</li>').join('');
  if (d.tuning.length) $('tuning').innerHTML = d.tuning.map((r) => '<li><b>' + esc(r.title) + '</b>: ' + esc(r.description) + '</li>').join('');
  hist.push([d.t, d.hitRate, d.opsPerSecond]); if (hist.length > 240) hist.shift();
  drawSeries();
  if (d.curve.length) drawCurve(d);
};
</script></body></html>`;
