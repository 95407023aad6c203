import { isIP } from 'node:net';
import { EgressRule } from '../egress-rule';
import { DomainError, isIpLiteral, MatchKind, parseDomainEntry } from './domain-name';

/**
 * Reading the proxy's access log (the `egress` log format of `SquidConfig`) for `suggest`:
 * one line, checked field by field. A line that is not exactly this library's format is
 * refused with a reason, never half-read.
 */

/** Lines longer than this many bytes are skipped (a real line is a few hundred bytes). */
export const DEFAULT_MAX_LINE_BYTES = 4096;

/** One access-log line, parsed. */
export interface AccessLogRecord {
  /** The client address (from PROXY protocol v2 behind the NLB). */
  readonly client: string;
  /** The VPC endpoint ID (`vpce-…`), when the line names one. */
  readonly endpointId?: string;
  /** The policy's consumers the client is (`consumer=a,b`), when the line names any. */
  readonly consumers?: string[];
  readonly method: string;
  /** The destination host, lower-case, without a trailing dot (IPv6 literals keep their brackets). */
  readonly host: string;
  readonly port: number;
  /** The TLS server name, lower-case, when the client sent one. */
  readonly sni?: string;
  readonly rule: string;
  /** Audit mode let it through though enforce mode would deny it (`audit=would-deny`). */
  readonly audited: boolean;
}

/** Why a line was skipped. */
export type SkipReason = 'tooLong' | 'nonUtf8' | 'malformed' | 'unknownRule';

/** A parsed line, or why it was skipped. */
export type ParsedLine = { readonly record: AccessLogRecord } | { readonly skipped: SkipReason };

// The fields of the `egress` logformat, in order (src/squid-config.ts). Fields hold no spaces.
// `consumer=` is optional: logs written before consumers existed do not have it.
const LINE =
  /^(\S+) client=(\S+) endpoint=(\S+)(?: consumer=(\S+))? method=([A-Z][A-Z_-]{0,31}) dest=(\S+) sni=(\S+) status=([A-Z_]+\/\d{3}) rule=([a-z-]+) audit=(-|would-deny) bytes_out=(\d+|-) bytes_in=(\d+|-) duration_ms=(-?\d+|-)$/;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const ENDPOINT_ID = /^vpce-[0-9a-f]{8,17}$/;
/** Consumer names, comma-separated (EgressConsumer.name). */
const CONSUMERS = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(,[A-Za-z0-9][A-Za-z0-9._-]{0,63})*$/;
const RULES = new Set<string>(Object.values(EgressRule));

/** Parse one line (without its line break). */
export function parseAccessLogLine(line: string, maxLineBytes = DEFAULT_MAX_LINE_BYTES): ParsedLine {
  if (Buffer.byteLength(line, 'utf8') > maxLineBytes) return { skipped: 'tooLong' };
  if (line.includes('\ufffd')) return { skipped: 'nonUtf8' };
  // Control characters (an escape sequence, a NUL, a stray carriage return) are never in a real line.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(line)) return { skipped: 'malformed' };
  const m = LINE.exec(line);
  if (!m) return { skipped: 'malformed' };
  const [, time, client, endpoint, consumer, method, dest, sni, , rule, audit] = m;
  if (!TIME.test(time) || isIP(client) === 0) return { skipped: 'malformed' };
  if (endpoint !== '-' && !ENDPOINT_ID.test(endpoint)) return { skipped: 'malformed' };
  if (consumer !== undefined && consumer !== '-' && !CONSUMERS.test(consumer)) return { skipped: 'malformed' };
  // `-`: the transaction ended before the policy decided (kept, counted apart by the builder).
  if (rule !== '-' && !RULES.has(rule)) return { skipped: 'unknownRule' };
  const colon = dest.lastIndexOf(':');
  const portText = dest.slice(colon + 1);
  if (colon <= 0 || !/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return { skipped: 'malformed' };
  const host = hostName(dest.slice(0, colon));
  if (host === undefined) return { skipped: 'malformed' };
  let sniName: string | undefined;
  if (sni !== '-') {
    sniName = hostName(sni);
    if (sniName === undefined || isIpLiteral(sniName)) return { skipped: 'malformed' };
  }
  return {
    record: {
      client,
      endpointId: endpoint === '-' ? undefined : endpoint,
      ...(consumer !== undefined && consumer !== '-' ? { consumers: consumer.split(',') } : {}),
      method,
      host,
      port: Number(portText),
      sni: sniName,
      rule,
      audited: audit === 'would-deny',
    },
  };
}

/** A host name (lower-case, no trailing dot) or an IP literal as written; undefined when neither. */
function hostName(text: string): string | undefined {
  if (text.length === 0 || text.length > 260) return undefined;
  if (isIpLiteral(text)) return /^[0-9a-fA-FxX.:[\]]+$/.test(text) ? text.toLowerCase() : undefined;
  if (text.startsWith('.') || text.startsWith('*')) return undefined;
  try {
    const entry = parseDomainEntry(text);
    return entry.kind === MatchKind.EXACT ? entry.name : undefined;
  } catch (e) {
    if (e instanceof DomainError) return undefined;
    throw e;
  }
}

/**
 * Splits a byte stream into lines of at most `maxLineBytes` bytes without ever holding a longer
 * one: the bytes of an overlong line are dropped as they arrive and the line is reported as
 * `undefined`. Lines are decoded as strict UTF-8 (invalid bytes become U+FFFD, which
 * {@link parseAccessLogLine} refuses).
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private overlong = false;
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });

  constructor(private readonly maxLineBytes: number) {}

  /** Feed a chunk; returns the complete lines in it (`undefined` for an overlong one). */
  public push(chunk: Buffer): Array<string | undefined> {
    const out: Array<string | undefined> = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      this.append(chunk.subarray(start, end));
      if (nl === -1) break;
      out.push(this.take());
      start = nl + 1;
    }
    return out;
  }

  /** The last line, when the input does not end with a line break. */
  public end(): Array<string | undefined> {
    return this.size > 0 || this.overlong ? [this.take()] : [];
  }

  private append(bytes: Buffer): void {
    if (this.overlong || bytes.length === 0) return;
    if (this.size + bytes.length > this.maxLineBytes) {
      this.overlong = true;
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(Buffer.from(bytes));
    this.size += bytes.length;
  }

  private take(): string | undefined {
    const line = this.overlong ? undefined : this.decoder.decode(Buffer.concat(this.parts)).replace(/\r$/, '');
    this.parts = [];
    this.size = 0;
    this.overlong = false;
    return line;
  }
}
