import { isIPv4 } from 'node:net';
import * as net from 'node:net';
import * as tls from 'node:tls';

/** The PROXY protocol v2 header an NLB prepends. */
export interface Ppv2Header {
  /** Client address the header claims. */
  readonly source: string;
  readonly sourcePort?: number;
  /** Address the client connected to (the endpoint's). */
  readonly destination?: string;
  /** VPC endpoint ID, sent as AWS TLV 0xEA subtype 0x01. */
  readonly endpointId?: string;
  /** The TLV's subtype byte (0x01, the VPC endpoint ID, unless a test sends another). */
  readonly endpointSubtype?: number;
}

const SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** Encode a PROXY protocol v2 header; `'local'` is what NLB health checks send. */
export function ppv2(header: Ppv2Header | 'local'): Buffer {
  if (header === 'local') return Buffer.concat([SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  const v4 = isIPv4(header.source);
  const dst = header.destination ?? (v4 ? '10.0.0.1' : 'fd00::1');
  const addr = v4
    ? Buffer.concat([Buffer.from(header.source.split('.').map(Number)), Buffer.from(dst.split('.').map(Number))])
    : Buffer.concat([ipv6Bytes(header.source), ipv6Bytes(dst)]);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(header.sourcePort ?? 40000, 0);
  ports.writeUInt16BE(3128, 2);
  const tlvs: Buffer[] = [];
  if (header.endpointId) {
    const value = Buffer.concat([
      Buffer.from([header.endpointSubtype ?? 0x01]),
      Buffer.from(header.endpointId, 'ascii'),
    ]);
    const head = Buffer.alloc(3);
    head.writeUInt8(0xea, 0);
    head.writeUInt16BE(value.length, 1);
    tlvs.push(head, value);
  }
  const body = Buffer.concat([addr, ports, ...tlvs]);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([SIGNATURE, Buffer.from([0x21, v4 ? 0x11 : 0x21]), len, body]);
}

function ipv6Bytes(a: string): Buffer {
  const [head, tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

/** One request through the proxy. */
export interface ProxyCall {
  readonly proxyHost: string;
  readonly proxyPort: number;
  /** PROXY protocol v2 header to send first. */
  readonly ppv2?: Ppv2Header | 'local';
  /** `CONNECT` (default) or a plain-HTTP method. */
  readonly method?: string;
  /** CONNECT authority (`host:port`) or, for plain HTTP, the absolute URL. */
  readonly target: string;
  /** Host header; defaults to the target's authority. */
  readonly hostHeader?: string;
  /** Inside an established tunnel: TLS with this SNI (`null` for none), or raw bytes when `raw` is set. */
  readonly sni?: string | null;
  /** Send these bytes instead of a TLS handshake inside the tunnel. */
  readonly raw?: string;
  /** CA the upstream certificate must chain to. */
  readonly ca: string;
  readonly timeoutMs?: number;
}

/** What the client saw. */
export interface ProxyResult {
  /** Status of the proxy's reply to CONNECT (or of the plain-HTTP response). */
  readonly status?: number;
  /** Body that came back from the upstream through the tunnel, or the plain-HTTP body. */
  readonly body: string;
  /** True when the upstream's own answer came back. */
  readonly reachedUpstream: boolean;
  /** What went wrong, for messages. */
  readonly error?: string;
}

/** Send one request through the proxy and report what came back. Bounded by `timeoutMs`. */
export async function proxyRequest(call: ProxyCall): Promise<ProxyResult> {
  const timeoutMs = call.timeoutMs ?? 5000;
  const method = call.method ?? 'CONNECT';
  const sock = net.connect({ host: call.proxyHost, port: call.proxyPort });
  sock.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<ProxyResult>((resolve) => {
    timer = setTimeout(() => {
      sock.destroy();
      resolve({ body: '', reachedUpstream: false, error: 'timeout' });
    }, timeoutMs);
  });
  const work = (async (): Promise<ProxyResult> => {
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    if (call.ppv2) sock.write(ppv2(call.ppv2));
    if (method !== 'CONNECT') {
      const u = new URL(call.target);
      sock.write(
        `${method} ${call.target} HTTP/1.1\r\nHost: ${call.hostHeader ?? u.host}\r\nConnection: close\r\n\r\n`,
      );
      const text = await readAll(sock);
      const status = parseStatus(text);
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      return { status, body, reachedUpstream: body.includes('upstream-ok') };
    }
    sock.write(`CONNECT ${call.target} HTTP/1.1\r\nHost: ${call.hostHeader ?? call.target}\r\n\r\n`);
    const head = await readHead(sock);
    const status = parseStatus(head);
    if (status !== 200) {
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      const body = length > 0 ? await readBytes(sock, length) : '';
      return {
        status,
        body: head + body,
        reachedUpstream: false,
        error: `CONNECT answered ${status ?? head.slice(0, 40)}`,
      };
    }
    if (call.raw !== undefined) {
      sock.write(call.raw);
      const text = await readAll(sock);
      return { status, body: text, reachedUpstream: text.includes('upstream-ok') };
    }
    // Like curl and OpenSSL, send the SNI without a trailing dot (RFC 6066 forbids one).
    const hostName = call.target.replace(/:\d+$/, '').replace(/\.$/, '');
    const servername = call.sni === undefined ? hostName : call.sni;
    const t = tls.connect({
      socket: sock,
      servername: servername ?? undefined,
      ca: call.ca,
      rejectUnauthorized: false,
    });
    t.on('error', () => {});
    try {
      await new Promise<void>((resolve, reject) => {
        t.once('secureConnect', resolve);
        t.once('error', reject);
        t.once('close', () => reject(new Error('closed during TLS handshake')));
      });
    } catch (e: any) {
      return { status, body: '', reachedUpstream: false, error: `TLS: ${e.message}` };
    }
    t.write(`GET / HTTP/1.1\r\nHost: ${servername ?? hostName}\r\nConnection: close\r\n\r\n`);
    const text = await readAll(t);
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    return { status, body, reachedUpstream: body.includes('upstream-ok') };
  })().catch((e: any) => ({ body: '', reachedUpstream: false, error: String(e.message ?? e) }) as ProxyResult);
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    sock.destroy();
  }
}

function parseStatus(text: string): number | undefined {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Read until the end of the response head, leaving the rest unread. */
function readHead(sock: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const i = buf.indexOf('\r\n\r\n');
      if (i !== -1) {
        sock.off('data', onData);
        sock.pause();
        const rest = buf.subarray(i + 4);
        if (rest.length > 0) sock.unshift(rest);
        resolve(buf.subarray(0, i + 4).toString('latin1'));
      }
    };
    sock.on('data', onData);
    sock.once('close', () => resolve(buf.toString('latin1')));
  });
}

/** Read exactly `n` bytes (or until close). */
function readBytes(sock: net.Socket, n: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const done = () => {
      sock.off('data', onData);
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const onData = (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= n) done();
    };
    sock.on('data', onData);
    sock.once('close', done);
    sock.resume();
  });
}

function readAll(s: net.Socket | tls.TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    const done = () => resolve(Buffer.concat(chunks).toString('latin1'));
    s.once('end', done);
    s.once('close', done);
    s.resume();
  });
}

/** Options for {@link openTunnel}. */
export interface TunnelOptions {
  readonly proxyHost: string;
  readonly proxyPort: number;
  readonly target: string;
  readonly ca: string;
  readonly ppv2?: Ppv2Header;
  readonly timeoutMs?: number;
}

/** Open a CONNECT tunnel and a TLS session through it; rejects if either fails. */
export async function openTunnel(o: TunnelOptions): Promise<tls.TLSSocket> {
  const sock = net.connect({ host: o.proxyHost, port: o.proxyPort });
  sock.on('error', () => {});
  const timer = setTimeout(() => sock.destroy(new Error('tunnel timeout')), o.timeoutMs ?? 15_000);
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    if (o.ppv2) sock.write(ppv2(o.ppv2));
    sock.write(`CONNECT ${o.target} HTTP/1.1\r\nHost: ${o.target}\r\n\r\n`);
    const head = await readHead(sock);
    if (parseStatus(head) !== 200) {
      throw new Error(`CONNECT ${o.target} answered ${head.split('\r\n')[0] || 'nothing'}`);
    }
    const t = tls.connect({
      socket: sock,
      servername: o.target.replace(/:\d+$/, ''),
      ca: o.ca,
      rejectUnauthorized: false,
    });
    await new Promise<void>((resolve, reject) => {
      t.once('secureConnect', resolve);
      t.once('error', reject);
      t.once('close', () => reject(new Error('closed during TLS handshake')));
    });
    t.on('error', () => {});
    return t;
  } catch (e) {
    sock.destroy();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** The state of a streaming request on a tunnel (GET /stream on the test upstream). */
export interface StreamWatch {
  ticks: number;
  done: boolean;
  closedEarly: boolean;
  readonly finished: Promise<void>;
}

/** Ask the upstream for a long-lived response over an open tunnel and watch it. */
export function watchStream(t: tls.TLSSocket, host: string, ms: number, every: number): StreamWatch {
  const w: any = { ticks: 0, done: false, closedEarly: false };
  let text = '';
  w.finished = new Promise<void>((resolve) => {
    t.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      w.ticks = (text.match(/tick/g) ?? []).length;
      if (text.includes('done')) {
        w.done = true;
        resolve();
      }
    });
    t.once('close', () => {
      if (!w.done) w.closedEarly = true;
      resolve();
    });
  });
  t.write(`GET /stream?ms=${ms}&every=${every} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  return w as StreamWatch;
}
