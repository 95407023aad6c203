#!/usr/bin/env node
/**
 * The package's command: `npx cdk-private-egress-proxy suggest --log access.log [--wildcards]
 * [--format ts|json]`. Nothing here is part of the library's API (src/index.ts does not export it).
 */
import { renderJson, renderTypeScript, skippedTotal, SuggestionBuilder } from '../private/suggest';
import { InputError, openInput, readInput } from '../private/suggest-input';
import { DEFAULT_MAX_LINE_BYTES } from '../private/suggest-log';

const USAGE = `Usage: cdk-private-egress-proxy suggest --log FILE [--log FILE ...] [--wildcards] [--format ts|json] [--max-line-bytes N]

Reads the egress proxy's access log (this library's log format; a file as Squid writes it, or a
CloudWatch Logs Insights export with an @message column: CSV, or JSON from the console or from
\`aws logs get-query-results\`; - for standard input) and prints the policy that would have
allowed what the proxy let through (in audit mode: everything the guardrails did not stop):
exact names with request counts, AWS endpoints as AwsEndpoints presets, and who asked for what.

  --log FILE          an input (repeatable)
  --wildcards         group two or more names under one parent into '*.parent' ('.parent' when the
                      parent was seen too); never over a public suffix or under amazonaws.com
  --format ts|json    TypeScript (default) or JSON (its "policy" member is EgressPolicyProps)
  --max-line-bytes N  skip longer lines (default ${DEFAULT_MAX_LINE_BYTES})

Lines that are not in the log format (malformed, too long, not UTF-8, control characters) are
skipped and counted on standard error.`;

/** Thrown for a bad command line; the message is printed with the usage. */
class UsageError extends Error {}

interface Args {
  readonly logs: string[];
  readonly wildcards: boolean;
  readonly format: 'ts' | 'json';
  readonly maxLineBytes: number;
}

function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (command !== 'suggest') throw new UsageError(command ? `Unknown command '${command}'` : 'No command given');
  const logs: string[] = [];
  let wildcards = false;
  let format: 'ts' | 'json' = 'ts';
  let maxLineBytes = DEFAULT_MAX_LINE_BYTES;
  for (let i = 0; i < rest.length; i++) {
    const [flag, inline] = rest[i].startsWith('--') && rest[i].includes('=') ? rest[i].split(/=(.*)/s, 2) : [rest[i]];
    const value = () => {
      const v = inline ?? rest[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--log') {
      logs.push(value());
    } else if (flag === '--wildcards') {
      wildcards = true;
    } else if (flag === '--format') {
      const f = value();
      if (f !== 'ts' && f !== 'json') throw new UsageError(`Invalid --format '${f}': ts or json`);
      format = f;
    } else if (flag === '--max-line-bytes') {
      const v = value();
      maxLineBytes = Number(v);
      if (!/^\d+$/.test(v) || maxLineBytes < 256 || maxLineBytes > 1024 * 1024) {
        throw new UsageError(`Invalid --max-line-bytes '${v}': a whole number of bytes, 256 to 1048576`);
      }
    } else {
      throw new UsageError(`Unknown option '${rest[i]}'`);
    }
  }
  if (logs.length === 0) throw new UsageError('suggest needs at least one --log FILE');
  return { logs, wildcards, format, maxLineBytes };
}

/** Run the command; resolves to the exit code. */
export async function main(argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out.write(`${USAGE}\n`);
    return 0;
  }
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err.write(`${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  const builder = new SuggestionBuilder();
  for (const log of args.logs) {
    try {
      const format = await readInput(openInput(log), builder, args.maxLineBytes);
      err.write(`read ${log} (${format === 'log' ? 'access log' : `${format.toUpperCase()} export`})\n`);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (e instanceof InputError || code !== undefined) {
        err.write(`Cannot read ${log}: ${(e as Error).message}\n`);
        return 1;
      }
      throw e;
    }
  }
  const suggestion = builder.build({ wildcards: args.wildcards });
  out.write(args.format === 'json' ? renderJson(suggestion) : renderTypeScript(suggestion));
  const s = suggestion.lines.skipped;
  err.write(
    `${suggestion.lines.read} lines: ${suggestion.lines.suggested} requests suggested, ${suggestion.lines.denied} denied, ${suggestion.lines.undecided} undecided, ` +
      `${suggestion.notAllowable.reduce((a, n) => a + n.count, 0)} not allowable, ${skippedTotal(suggestion)} skipped ` +
      `(${s.malformed} malformed, ${s.tooLong} too long, ${s.nonUtf8} not UTF-8, ${s.unknownRule} unknown rule)\n`,
  );
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`cdk-private-egress-proxy: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
