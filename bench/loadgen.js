// Benchmark load generator: one Node process with many sockets, started by bench/run.ts inside the
// lab's network namespace (so it cannot reach anything outside it) and stopped by its PID.
//
// Modes:
//   rate: `concurrency` loops, each repeatedly opening a new tunnel (TCP connect, CONNECT, TLS
//         handshake inside the tunnel) and doing one small request/response, then closing it.
//         Reports completed tunnels per second and their latency (p50/p99).
//   bulk: `concurrency` long tunnels, each receiving an endless stream; reports MB/s (10^6
//         bytes of TLS plaintext per second) summed over all tunnels.
//   once: one new tunnel and one small request to `name` (a readiness and filter check).
// Without `proxy`, the client connects to the upstream directly (the "direct" baseline).
//
// Every loop is bounded in time: nothing starts after the measurement window, every connection
// has a timeout, and the whole process exits after a hard deadline.
//
// Output: JSON lines on stdout: {"event":"start"} and {"event":"end"} mark the measurement
// window (run.ts samples process CPU times on them), then one {"event":"result",...} line.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const tls = require('node:tls');
const { performance } = require('node:perf_hooks');

const a = JSON.parse(process.argv[2]);
// One secure context for every connection: building one per connection (parsing the CA each
// time) would make the generator, not the proxy, the bottleneck. Sessions are never resumed.
const secureContext = tls.createSecureContext({ ca: fs.readFileSync(a.caFile) });
const name = a.name;
const warmupMs = (a.warmup ?? 1) * 1000;
const windowMs = (a.seconds ?? 5) * 1000;
const opTimeoutMs = a.opTimeoutMs ?? 10_000;
const MAX_SAMPLES = 5_000_000;
const ppv2Header = a.proxy?.ppv2 ? Buffer.from(a.proxy.ppv2, 'hex') : undefined;

const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const hardDeadline = setTimeout(() => {
  emit({ event: 'result', error: 'hard deadline reached' });
  process.exit(3);
}, warmupMs + windowMs + 60_000);
hardDeadline.unref();

/** Open one tunnel and finish the TLS handshake; calls back exactly once. */
function openTls(cb) {
  let done = false;
  let tlsSock;
  const finish = (err, s) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (err) {
      raw?.destroy();
      tlsSock?.destroy();
    }
    cb(err, s);
  };
  const timer = setTimeout(() => finish(new Error('timeout')), opTimeoutMs);
  const tlsOpts = { servername: name, secureContext, rejectUnauthorized: true };
  let raw;
  if (!a.proxy) {
    tlsSock = tls.connect({ host: a.upstream.host, port: a.upstream.port, ...tlsOpts });
    tlsSock.setNoDelay(true);
    tlsSock.once('secureConnect', () => finish(null, tlsSock));
    tlsSock.once('error', (e) => finish(e));
    return;
  }
  raw = net.connect({ host: a.proxy.host, port: a.proxy.port });
  raw.setNoDelay(true);
  raw.once('error', (e) => finish(e));
  raw.once('connect', () => {
    // Behind the load balancer every connection starts with its PROXY protocol v2 header.
    if (ppv2Header) raw.write(ppv2Header);
    raw.write(`CONNECT ${name}:${a.upstream.port} HTTP/1.1\r\nHost: ${name}:${a.upstream.port}\r\n\r\n`);
  });
  let head = '';
  const onHead = (d) => {
    head += d.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > 16384) finish(new Error('CONNECT reply too long'));
      return;
    }
    raw.removeListener('data', onHead);
    raw.pause();
    const status = head.slice(0, head.indexOf('\r\n'));
    if (!/^HTTP\/1\.[01] 200/.test(status)) return finish(new Error(`CONNECT refused: ${status}`));
    tlsSock = tls.connect({ socket: raw, ...tlsOpts });
    tlsSock.once('secureConnect', () => finish(null, tlsSock));
    tlsSock.once('error', (e) => finish(e));
  };
  raw.on('data', onHead);
}

/** One new tunnel + one small request/response; calls back once with an error or nothing. */
function oneRequest(cb) {
  let done = false;
  let sock;
  const finish = (err) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    sock?.destroy();
    cb(err);
  };
  const timer = setTimeout(() => finish(new Error('timeout')), opTimeoutMs);
  openTls((err, s) => {
    if (err) return finish(err);
    if (done) return s.destroy();
    sock = s;
    if (s.isSessionReused()) resumed++;
    let buf = '';
    let need = -1;
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (need < 0) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const m = /content-length:\s*(\d+)/i.exec(buf.slice(0, end));
        if (!/^HTTP\/1\.1 200/.test(buf) || !m) return finish(new Error(`bad response: ${buf.slice(0, 40)}`));
        need = end + 4 + Number(m[1]);
      }
      if (buf.length >= need) finish(null);
    });
    s.on('end', () => finish(new Error('closed before the response')));
    s.on('error', (e) => finish(e));
    s.write(`GET /small HTTP/1.1\r\nHost: ${name}\r\nConnection: close\r\n\r\n`);
  });
}

let resumed = 0;
const errors = new Map();
let errorCount = 0;
function noteError(e) {
  errorCount++;
  const k = String(e && e.message).slice(0, 80);
  if (errors.size < 5 || errors.has(k)) errors.set(k, (errors.get(k) ?? 0) + 1);
}
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
function finishWith(result) {
  emit({ event: 'result', ...result, errors: errorCount, errorSamples: Object.fromEntries(errors), resumed, cpu: process.cpuUsage() });
  process.exit(0);
}

function runRate() {
  const t0 = performance.now();
  const startAt = t0 + warmupMs;
  const endAt = startAt + windowMs;
  const lat = new Float64Array(MAX_SAMPLES);
  let n = 0;
  let active = a.concurrency;
  setTimeout(() => emit({ event: 'start' }), warmupMs);
  // The window's end is marked once: by this timer or by the first loop that sees the time is up,
  // whichever comes first (the last loop may finish before the timer fires).
  let ended = false;
  const markEnd = () => {
    if (!ended) {
      ended = true;
      emit({ event: 'end' });
    }
  };
  setTimeout(markEnd, warmupMs + windowMs);
  const loop = () => {
    const s = performance.now();
    if (s >= endAt) {
      markEnd();
      if (--active === 0) {
        const sorted = lat.subarray(0, n).sort();
        finishWith({ mode: 'rate', concurrency: a.concurrency, completed: n, seconds: windowMs / 1000, rate: n / (windowMs / 1000), p50: percentile(sorted, 50), p99: percentile(sorted, 99) });
      }
      return;
    }
    oneRequest((err) => {
      const e = performance.now();
      if (err) {
        noteError(err);
        setTimeout(loop, 20); // back off a little so a failing target cannot make this spin
        return;
      }
      if (s >= startAt && e <= endAt && n < MAX_SAMPLES) lat[n++] = e - s;
      setImmediate(loop);
    });
  };
  // Stagger the first connections over a few ms so 512 loops do not all SYN in the same tick.
  for (let i = 0; i < a.concurrency; i++) setTimeout(loop, Math.floor((i * 50) / a.concurrency));
}

function runBulk() {
  const socks = [];
  let bytes = 0;
  let opened = 0;
  let pending = a.concurrency;
  const setupDeadline = Date.now() + opTimeoutMs + 5000;
  const begin = () => {
    // Warm-up, then the window.
    setTimeout(() => {
      const b0 = bytes;
      const t0 = performance.now();
      emit({ event: 'start' });
      setTimeout(() => {
        const b1 = bytes;
        const dt = (performance.now() - t0) / 1000;
        emit({ event: 'end' });
        for (const s of socks) s.destroy();
        finishWith({ mode: 'bulk', concurrency: a.concurrency, tunnels: opened, seconds: dt, mbps: (b1 - b0) / dt / 1e6 });
      }, windowMs);
    }, warmupMs);
  };
  const opened1 = () => {
    if (--pending === 0) begin();
  };
  for (let i = 0; i < a.concurrency; i++) {
    setTimeout(() => {
      openTls((err, s) => {
        if (err) {
          noteError(err);
          return opened1();
        }
        socks.push(s);
        opened++;
        s.on('error', (e) => noteError(e));
        s.on('data', (d) => {
          bytes += d.length;
        });
        s.write(`GET /bulk HTTP/1.1\r\nHost: ${name}\r\n\r\n`);
        opened1();
      });
    }, Math.floor((i * 200) / a.concurrency));
  }
  const guard = setInterval(() => {
    if (Date.now() > setupDeadline && pending > 0) {
      clearInterval(guard);
      pending = 0;
      begin();
    } else if (pending === 0) clearInterval(guard);
  }, 200);
}

function runOnce() {
  const s = performance.now();
  oneRequest((err) => {
    if (err) noteError(err);
    finishWith({ mode: 'once', ok: !err, ms: performance.now() - s, error: err ? String(err.message) : undefined });
  });
}

if (a.mode === 'rate') runRate();
else if (a.mode === 'bulk') runBulk();
else runOnce();
