import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { SuggestionBuilder } from './suggest';
import { LineSplitter, parseAccessLogLine } from './suggest-log';

/**
 * The inputs `suggest` reads: Squid's access log as written on the instance (one line per
 * request, streamed, so a file of any size and a line of any length are read in bounded memory),
 * or the results of a CloudWatch Logs Insights query over the log group, as the console exports
 * them (CSV or JSON with an `@message` column) or as `aws logs get-query-results` and
 * `aws logs filter-log-events` print them (JSON).
 */

/** The most bytes of a CSV or JSON export read (they are parsed whole). */
export const MAX_EXPORT_BYTES = 256 * 1024 * 1024;

/** Which kind of input a file is. */
export type InputFormat = 'log' | 'csv' | 'json';

/** Raised for an input that cannot be read as a whole (not a bad line: those are skipped). */
export class InputError extends Error {}

/** Read one input into `builder`; returns the format it was read as. */
export async function readInput(
  input: Readable,
  builder: SuggestionBuilder,
  maxLineBytes: number,
): Promise<InputFormat> {
  let format: InputFormat | undefined;
  const splitter = new LineSplitter(maxLineBytes);
  const held: Buffer[] = [];
  let heldBytes = 0;
  const addLine = (line: string | undefined) => {
    if (line === undefined) return builder.skip('tooLong');
    if (line.length === 0) return;
    const parsed = parseAccessLogLine(line, maxLineBytes);
    if ('record' in parsed) builder.add(parsed.record);
    else builder.skip(parsed.skipped);
  };
  for await (const data of input) {
    const chunk = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
    if (format === undefined) {
      held.push(chunk);
      heldBytes += chunk.length;
      format = detect(Buffer.concat(held));
      if (format === undefined && heldBytes < 64 * 1024) continue;
      format ??= 'log';
      if (format === 'log') {
        splitter.push(Buffer.concat(held)).forEach(addLine);
        held.length = 0;
      }
      continue;
    }
    if (format === 'log') {
      splitter.push(chunk).forEach(addLine);
    } else {
      heldBytes += chunk.length;
      if (heldBytes > MAX_EXPORT_BYTES) {
        throw new InputError(
          `The ${format.toUpperCase()} export is larger than ${MAX_EXPORT_BYTES} bytes; split the query's time range`,
        );
      }
      held.push(chunk);
    }
  }
  format ??= detect(Buffer.concat(held)) ?? 'log';
  if (format === 'log') {
    if (held.length > 0) splitter.push(Buffer.concat(held)).forEach(addLine);
    splitter.end().forEach(addLine);
    return format;
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(held));
  const messages = format === 'csv' ? csvMessages(text) : jsonMessages(text);
  for (const m of messages) {
    if (typeof m !== 'string') builder.skip('malformed');
    else addLine(m.replace(/\r?\n$/, ''));
  }
  return format;
}

/** Read a file (or standard input for `-`). */
export function openInput(path: string): Readable {
  return path === '-' ? process.stdin : createReadStream(path);
}

/** The format, from the first bytes; undefined until the first line is complete (or 64 KiB). */
function detect(head: Buffer): InputFormat | undefined {
  const text = head
    .subarray(0, 64 * 1024)
    .toString('utf8')
    .replace(/^\ufeff/, '');
  const first = text.trimStart()[0];
  if (first === '{' || first === '[') return 'json';
  const nl = text.indexOf('\n');
  if (nl === -1) return undefined;
  return /(^|,)"?@message"?(,|\r?$)/.test(text.slice(0, nl)) ? 'csv' : 'log';
}

/** The `@message` column of a CSV export (RFC 4180: quoted fields may hold commas, quotes and line breaks). */
export function csvMessages(text: string): unknown[] {
  const rows = parseCsv(text.replace(/^\ufeff/, ''));
  const header = rows.shift() ?? [];
  const col = header.indexOf('@message');
  if (col === -1) throw new InputError('The CSV export has no @message column (run the query with `fields @message`)');
  return rows.filter((r) => !(r.length === 1 && r[0] === '')).map((r) => r[col]);
}

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"' && field.length === 0) {
      quoted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || (ch === '\r' && text[i + 1] === '\n')) {
      if (ch === '\r') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += ch;
    }
  }
  if (field.length > 0 || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/**
 * The messages of a JSON export: `aws logs get-query-results` (`results`: rows of
 * `{field, value}`), the console's export (an array of objects with `@message`) or
 * `aws logs filter-log-events` (`events` with `message`).
 */
export function jsonMessages(text: string): unknown[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\ufeff/, ''));
  } catch (e) {
    throw new InputError(`The JSON export does not parse: ${(e as Error).message}`);
  }
  const rows = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
  if (Array.isArray(doc)) return doc.map((o) => (isObject(o) ? o['@message'] : undefined));
  if (isObject(doc) && Array.isArray(doc.results)) {
    return doc.results.map((r) => {
      const cell = rows(r).find((f) => isObject(f) && f.field === '@message');
      return isObject(cell) ? cell.value : undefined;
    });
  }
  if (isObject(doc) && Array.isArray(doc.events)) return doc.events.map((e) => (isObject(e) ? e.message : undefined));
  throw new InputError(
    'The JSON is none of: the output of `aws logs get-query-results` (results), `aws logs filter-log-events` (events), or an array of objects with @message',
  );
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
