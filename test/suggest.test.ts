import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import * as ts from 'typescript';
import { sampleAccessLogLine, SAMPLE_FIELDS } from './access-log-sample';
import * as lib from '../src';
import { AwsEndpoints, AwsService, EgressPolicy } from '../src';
import { main } from '../src/cli/main';
import {
  matchAwsEndpoint,
  renderTypeScript,
  Suggestion,
  SuggestionBuilder,
  SuggestOptions,
} from '../src/private/suggest';
import { InputError, readInput } from '../src/private/suggest-input';
import { DEFAULT_MAX_LINE_BYTES, LineSplitter, parseAccessLogLine } from '../src/private/suggest-log';

type Fields = typeof SAMPLE_FIELDS;

/** An access-log line in the library's format (field order of the sample line). */
function line(f: Partial<Fields> = {}): string {
  const v = { ...SAMPLE_FIELDS, ...f };
  return (
    `${v.time} client=${v.client} endpoint=${v.endpoint} method=${v.method} dest=${v.dest} sni=${v.sni} ` +
    `status=${v.status} rule=${v.rule} audit=${v.audit} bytes_out=${v.bytes_out} bytes_in=${v.bytes_in} duration_ms=${v.duration_ms}`
  );
}

/** The same line with the `consumer=` field after the endpoint, as the log format writes it now. */
function lineWithConsumer(consumer: string, f: Partial<Fields> = {}): string {
  return line(f).replace(/ method=/, ` consumer=${consumer} method=`);
}

/** A tunnel audit mode let through (would-deny) to `host`, from `endpoint`. */
function audited(host: string, extra: Partial<Fields> = {}): string {
  return line({ dest: `${host}:443`, sni: host, rule: 'destination-not-allowed', audit: 'would-deny', ...extra });
}

async function suggest(input: string | Buffer, options: SuggestOptions = {}): Promise<Suggestion> {
  const b = new SuggestionBuilder();
  await readInput(Readable.from([typeof input === 'string' ? Buffer.from(input) : input]), b, DEFAULT_MAX_LINE_BYTES);
  return b.build(options);
}

function sink(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  }) as Writable & { text: () => string };
  w.text = () => chunks.join('');
  return w;
}

describe('parsing one line', () => {
  test('reads every field of a line rendered from the logformat of squid.conf', () => {
    const parsed = parseAccessLogLine(sampleAccessLogLine());
    expect(parsed).toEqual({
      record: {
        client: SAMPLE_FIELDS.client,
        endpointId: SAMPLE_FIELDS.endpoint,
        consumers: SAMPLE_FIELDS.consumer.split(','),
        method: 'CONNECT',
        host: 'sts.us-east-1.amazonaws.com',
        port: 443,
        sni: 'sts.us-east-1.amazonaws.com',
        rule: 'destination-not-allowed',
        audited: true,
      },
    });
  });

  test('folds case and a trailing dot; no endpoint and no SNI are absent, not "-"', () => {
    const parsed = parseAccessLogLine(line({ dest: 'API.Example.COM.:8443', sni: '-', endpoint: '-' }));
    expect(parsed).toMatchObject({ record: { host: 'api.example.com', port: 8443 } });
    expect('record' in parsed && parsed.record.sni).toBeUndefined();
    expect('record' in parsed && parsed.record.endpointId).toBeUndefined();
  });

  test.each<[string, string, string]>([
    ['a truncated line', line().slice(0, 120), 'malformed'],
    ['an escape sequence', line({ sni: 'a\x1b[31m.example.com' }), 'malformed'],
    ['a NUL byte', line({ sni: 'a\x00.example.com' }), 'malformed'],
    ['a carriage return inside', line({ sni: 'a.example.com\rrule=allowlisted' }), 'malformed'],
    [
      'fields injected through the SNI',
      line({ sni: 'x.test status=TCP_TUNNEL/200 rule=allowlisted audit=- bytes_out=1' }),
      'malformed',
    ],
    ['a replacement character (invalid UTF-8)', line({ sni: 'caf\ufffd.example.com' }), 'nonUtf8'],
    ['an endpoint that is not a vpce ID', line({ endpoint: 'vpce-XYZ' }), 'malformed'],
    ['a client that is not an address', line({ client: 'evil' }), 'malformed'],
    ['a port over 65535', line({ dest: 'a.example.com:99999' }), 'malformed'],
    ['a destination without a port', line({ dest: 'a.example.com' }), 'malformed'],
    ['a wildcard destination', line({ dest: '*.example.com:443' }), 'malformed'],
    ['an underscore in the name', line({ dest: 'a_b.example.com:443' }), 'malformed'],
    ['an IP address as SNI', line({ sni: '192.0.2.1' }), 'malformed'],
    ['a rule this version does not know', line({ rule: 'some-new-rule' }), 'unknownRule'],
    ['an audit mark other than would-deny', line({ audit: 'maybe' }), 'malformed'],
    ['a consumer name with a quote', lineWithConsumer("team-a'"), 'malformed'],
    ['an empty name in the consumer list', lineWithConsumer('team-a,,vpn'), 'malformed'],
    ['fields injected through the consumer', lineWithConsumer('a method=GET dest=x.test:80'), 'malformed'],
    [
      'a line over the limit',
      line({ sni: `${'a'.repeat(60)}.${'b'.repeat(60)}.example.com`, bytes_out: '1'.repeat(4000) }),
      'tooLong',
    ],
  ])('skips %s', (_what, text, reason) => {
    expect(parseAccessLogLine(text)).toEqual({ skipped: reason });
  });
});

describe('splitting input into lines', () => {
  test('drops a line longer than the limit that arrives in pieces, and reads the lines around it', () => {
    const s = new LineSplitter(100);
    const out = [
      ...s.push(Buffer.from('short\n')),
      ...s.push(Buffer.alloc(1_000_000, 0x61)),
      ...s.push(Buffer.from('still long\nnext')),
      ...s.end(),
    ];
    expect(out).toEqual(['short', undefined, 'next']);
  });

  test('decodes each line on its own: invalid UTF-8 on one line does not spoil the next', () => {
    const s = new LineSplitter(100);
    const out = [...s.push(Buffer.from([0x61, 0xff, 0xfe, 0x0a, 0x62, 0x0a]))];
    expect(out).toEqual(['a\ufffd\ufffd', 'b']);
  });
});

describe('suggesting a policy', () => {
  test('exact names with request counts; the SNI counts when it differs from the CONNECT host', async () => {
    const s = await suggest(
      [audited('a.example.com'), audited('a.example.com'), audited('b.example.net', { sni: 'c.example.net' })].join(
        '\n',
      ),
    );
    expect(s.entries).toEqual([
      { entry: 'a.example.com', count: 2 },
      { entry: 'b.example.net', count: 1 },
      { entry: 'c.example.net', count: 1 },
    ]);
    expect(s.policy).toEqual({ allowedDomains: ['a.example.com', 'b.example.net', 'c.example.net'] });
    expect(s.lines).toMatchObject({ read: 3, suggested: 3, denied: 0 });
  });

  test('allowlisted lines count, enforce-mode denials do not, guardrail and IP-literal refusals are listed as not allowable', async () => {
    const s = await suggest(
      [
        line({ dest: 'ok.example.com:443', sni: 'ok.example.com', rule: 'allowlisted', audit: '-' }),
        line({ dest: 'no.example.com:443', sni: '-', rule: 'destination-not-allowed', audit: '-' }),
        line({ dest: 'internal.example.com:443', sni: '-', rule: 'to-private', audit: '-' }),
        line({ dest: '192.0.2.10:443', sni: '-', rule: 'ip-literal', audit: 'would-deny' }),
      ].join('\n'),
    );
    expect(s.policy.allowedDomains).toEqual(['ok.example.com']);
    expect(s.lines).toMatchObject({ read: 4, suggested: 1, denied: 1 });
    expect(s.notAllowable).toEqual([
      { destination: '192.0.2.10:443', rule: 'ip-literal', count: 1 },
      { destination: 'internal.example.com:443', rule: 'to-private', count: 1 },
    ]);
  });

  test('a line without a decision (rule=-) is counted apart, not suggested', async () => {
    const s = await suggest(
      [audited('a.example.com'), line({ dest: 'b.example.com:443', rule: '-', audit: '-' })].join('\n'),
    );
    expect(s.policy.allowedDomains).toEqual(['a.example.com']);
    expect(s.lines).toMatchObject({ read: 2, suggested: 1, denied: 0, undecided: 1 });
  });

  test('ports other than 443 and plain HTTP become ports and allowPlainHttp; plain HTTP off port 80 is not allowable', async () => {
    const s = await suggest(
      [
        audited('a.example.com'),
        audited('a.example.com', { dest: 'a.example.com:8443', rule: 'port-not-allowed' }),
        line({
          method: 'GET',
          dest: 'b.example.com:80',
          sni: '-',
          rule: 'plain-http-not-allowed',
          audit: 'would-deny',
        }),
        line({ method: 'GET', dest: 'c.example.com:8080', sni: '-', rule: 'port-not-allowed', audit: 'would-deny' }),
      ].join('\n'),
    );
    expect(s.policy).toEqual({
      allowedDomains: ['a.example.com', 'b.example.com'],
      ports: [443, 8443],
      allowPlainHttp: true,
    });
    expect(s.notAllowable).toEqual([{ destination: 'c.example.com:8080', rule: 'plain-http-port-not-80', count: 1 }]);
  });

  test('reads the consumer field, and lines written before it existed', () => {
    expect(parseAccessLogLine(lineWithConsumer('team-a,vpn'))).toMatchObject({
      record: { consumers: ['team-a', 'vpn'] },
    });
    const none = parseAccessLogLine(lineWithConsumer('-'));
    expect('record' in none && none.record.consumers).toBeUndefined();
    const old = parseAccessLogLine(line());
    expect('record' in old && old.record.consumers).toBeUndefined();
  });

  test('groups requests by the consumers a line names before its endpoint ID', async () => {
    const a = 'vpce-0aaaaaaaaaaaaaaaa';
    const s = await suggest(
      [
        lineWithConsumer('payments', {
          endpoint: a,
          client: '10.0.1.1',
          dest: 'x.example.com:443',
          sni: 'x.example.com',
        }),
        lineWithConsumer('payments', {
          endpoint: a,
          client: '10.0.1.2',
          dest: 'y.example.com:443',
          sni: 'y.example.com',
        }),
        lineWithConsumer('-', { endpoint: a, client: '10.0.1.3', dest: 'z.example.com:443', sni: 'z.example.com' }),
      ].join('\n'),
    );
    expect(s.consumers.map((c) => [c.consumer, c.endpointId, c.requests])).toEqual([
      ['payments', a, 2],
      [undefined, a, 1],
    ]);
    expect(renderTypeScript(s)).toContain(
      `//   consumer payments, ${a} (from 10.0.1.1, 10.0.1.2): 2 requests: x.example.com 1, y.example.com 1`,
    );
  });

  test('groups requests per consumer: by VPC endpoint ID, or by client address when the line names none', async () => {
    const a = 'vpce-0aaaaaaaaaaaaaaaa';
    const s = await suggest(
      [
        audited('x.example.com', { endpoint: a, client: '10.0.1.1' }),
        audited('y.example.com', { endpoint: a, client: '10.0.1.2' }),
        audited('x.example.com', { endpoint: '-', client: '10.9.0.5' }),
      ].join('\n'),
    );
    expect(s.consumers).toEqual([
      {
        endpointId: a,
        sources: ['10.0.1.1', '10.0.1.2'],
        requests: 2,
        names: [
          { name: 'x.example.com', count: 1 },
          { name: 'y.example.com', count: 1 },
        ],
      },
      { sources: ['10.9.0.5'], requests: 1, names: [{ name: 'x.example.com', count: 1 }] },
    ]);
  });

  describe('wildcards', () => {
    const names = [
      'a.example.org',
      'b.example.org',
      'solo.example.net',
      'x.co.uk',
      'y.co.uk',
      'one.github.io',
      'two.github.io',
    ];
    const input = names.map((n) => audited(n)).join('\n');

    test('without --wildcards every name stays exact', async () => {
      expect((await suggest(input)).policy.allowedDomains).toEqual([...names].sort((p, q) => p.localeCompare(q)));
      expect((await suggest(input)).entries.every((e) => !e.entry.startsWith('*') && !e.entry.startsWith('.'))).toBe(
        true,
      );
    });

    test('with --wildcards two names under one parent become *.parent, never over a public suffix (co.uk, github.io)', async () => {
      const s = await suggest(input, { wildcards: true });
      expect(s.policy.allowedDomains.filter((d) => d.startsWith('*') || d.startsWith('.'))).toEqual(['*.example.org']);
      expect(s.entries.find((e) => e.entry === '*.example.org')).toEqual({
        entry: '*.example.org',
        count: 2,
        names: [
          { name: 'a.example.org', count: 1 },
          { name: 'b.example.org', count: 1 },
        ],
      });
      expect(s.policy.allowedDomains).toEqual(
        expect.arrayContaining(['x.co.uk', 'y.co.uk', 'one.github.io', 'two.github.io', 'solo.example.net']),
      );
      // The suggestion is a valid policy (EgressPolicy refuses a wildcard over an ICANN suffix).
      expect(() => new EgressPolicy(s.policy)).not.toThrow();
    });

    test('the parent seen too gives .parent (the name and its subdomains)', async () => {
      const s = await suggest([input, audited('example.org')].join('\n'), { wildcards: true });
      expect(s.policy.allowedDomains).toContain('.example.org');
      expect(s.policy.allowedDomains).not.toContain('example.org');
    });

    test('AWS endpoint names are never grouped into a wildcard', async () => {
      const s = await suggest(
        ['sts.us-east-1.amazonaws.com', 'ec2.us-east-1.amazonaws.com'].map((n) => audited(n)).join('\n'),
        {
          wildcards: true,
        },
      );
      expect(s.policy.allowedDomains).toEqual(['ec2.us-east-1.amazonaws.com', 'sts.us-east-1.amazonaws.com']);
    });
  });

  describe('AWS endpoints map back to AwsEndpoints presets', () => {
    test.each<[string, Record<string, unknown>]>([
      ['sts.us-east-1.amazonaws.com', { service: 'STS', region: 'us-east-1', fips: false }],
      ['sts.amazonaws.com', { service: 'STS' }],
      ['sts-fips.us-west-2.amazonaws.com', { service: 'STS', region: 'us-west-2', fips: true }],
      ['logs.eu-central-1.amazonaws.com', { service: 'CLOUDWATCH_LOGS', region: 'eu-central-1' }],
      ['api.ecr.eu-west-1.amazonaws.com', { service: 'ECR_API', region: 'eu-west-1' }],
      ['123456789012.dkr.ecr.eu-west-1.amazonaws.com', { service: 'ECR_DKR', account: '123456789012' }],
      ['my-bucket.s3.eu-west-1.amazonaws.com', { service: 'S3', bucket: 'my-bucket', region: 'eu-west-1' }],
      ['s3.eu-west-1.amazonaws.com', { service: 'S3', region: 'eu-west-1' }],
      ['ssm.ap-southeast-2.amazonaws.com', { service: 'SSM', region: 'ap-southeast-2' }],
      ['athena.eu-west-1.amazonaws.com', { endpointPrefix: 'athena', region: 'eu-west-1' }],
      ['sts.us-east-1.api.aws', { service: 'STS', region: 'us-east-1', dualStack: true, fips: false }],
      ['s3.dualstack.eu-west-1.amazonaws.com', { service: 'S3', region: 'eu-west-1', dualStack: true }],
    ])('%s', (name, want) => {
      expect(matchAwsEndpoint(name)).toMatchObject(want);
    });

    test.each([
      'evilamazonaws.com',
      'sts.us-east-1.amazonaws.com.evil.test',
      'api.example.com',
      'ec2-1-2-3-4.compute-1.amazonaws.com',
    ])('%s is not an AwsEndpoints name', (name) => {
      expect(matchAwsEndpoint(name)).toBeUndefined();
    });

    test('each suggested AwsEndpoints call builds every name it stands for, and says what else it allows', async () => {
      const names = [
        'sts.us-east-1.amazonaws.com',
        'sts.eu-west-1.amazonaws.com',
        'my-bucket.s3.eu-west-1.amazonaws.com',
        'kms.eu-west-1.amazonaws.com',
      ];
      const s = await suggest(names.map((n) => audited(n)).join('\n'));
      expect(s.awsEndpoints.map((a) => a.service).sort()).toEqual(['KMS', 'S3', 'STS']);
      for (const a of s.awsEndpoints) {
        const built = AwsEndpoints.hostnames({
          services: [(AwsService as any)[a.service!]],
          regions: a.regions,
          fips: a.fips,
          dualStack: a.dualStack,
          s3Buckets: a.s3Buckets,
          ecrAccountIds: a.ecrAccountIds,
        });
        for (const n of a.names) expect(built).toContain(n.name);
        expect(a.alsoAllows).toEqual(built.filter((h) => !a.names.some((n) => n.name === h)));
      }
      expect(s.awsEndpoints.find((a) => a.service === 'STS')?.regions).toEqual(['eu-west-1', 'us-east-1']);
    });
  });

  test('the suggested policy, fed back into EgressPolicy, allows every request it was built from and not their neighbours', async () => {
    const seen = ['a.example.org', 'b.example.org', 'api.example.com', 'sts.us-east-1.amazonaws.com'];
    const s = await suggest(seen.map((n) => audited(n)).join('\n'));
    const policy = new EgressPolicy(s.policy);
    for (const host of seen) expect(policy.evaluate({ host, port: 443, sni: host }).allowed).toBe(true);
    for (const host of ['c.example.org', 'example.org', 'x.api.example.com', 'sts.us-west-2.amazonaws.com']) {
      expect(policy.evaluate({ host, port: 443, sni: host }).allowed).toBe(false);
    }
  });

  test('the TypeScript output runs and builds a policy that allows every request seen', async () => {
    const seen = [
      'sts.us-east-1.amazonaws.com',
      'my-bucket.s3.eu-west-1.amazonaws.com',
      'a.example.org',
      'b.example.org',
    ];
    const s = await suggest(seen.map((n) => audited(n)).join('\n'), { wildcards: true });
    const code = renderTypeScript(s);
    expect(code).toContain("...AwsEndpoints.hostnames({ services: [AwsService.STS], regions: ['us-east-1'] }),");
    expect(code).toContain('// also allows: sts.amazonaws.com');
    expect(code).toContain("'*.example.org', // 2 requests (a.example.org 1, b.example.org 1)");
    const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.CommonJS } }).outputText;
    const exports: Record<string, any> = {};
    new Function('require', 'exports', js)((m: string) => {
      if (m !== 'cdk-private-egress-proxy') throw new Error(`the output imports ${m}`);
      return lib;
    }, exports);
    const policy: EgressPolicy = exports.policy;
    for (const host of seen) expect(policy.evaluate({ host, port: 443, sni: host }).allowed).toBe(true);
  });
});

describe('inputs', () => {
  const good = [audited('a.example.com'), audited('b.example.com')];

  test('a Logs Insights CSV export: quoted messages; an injected line break inside one is skipped, not split', async () => {
    const csv = [
      '@timestamp,@message',
      `2026-12-02 08:04:15.476,"${good[0]}"`,
      `2026-12-02 08:04:16.000,"${audited('evil.example.com').replace(' rule=', '\nrule=')}"`,
      `2026-12-02 08:04:17.000,"${good[1].replace('duration_ms=9', 'duration_ms=9""')}"`,
      `2026-12-02 08:04:18.000,${good[1]}`,
      '',
    ].join('\n');
    const s = await suggest(csv);
    expect(s.policy.allowedDomains).toEqual(['a.example.com', 'b.example.com']);
    expect(s.lines).toMatchObject({ read: 4, suggested: 2, skipped: { malformed: 2 } });
  });

  test('`aws logs get-query-results` JSON, and the console JSON export', async () => {
    const results = {
      results: good.map((m) => [
        { field: '@timestamp', value: 't' },
        { field: '@message', value: m },
      ]),
      status: 'Complete',
    };
    expect((await suggest(JSON.stringify(results))).policy.allowedDomains).toEqual(['a.example.com', 'b.example.com']);
    const exported = [...good.map((m) => ({ '@timestamp': 't', '@message': m })), { '@message': 42 }, { other: 1 }];
    const s = await suggest(JSON.stringify(exported));
    expect(s.policy.allowedDomains).toEqual(['a.example.com', 'b.example.com']);
    expect(s.lines.skipped.malformed).toBe(2);
  });

  test('`aws logs filter-log-events` JSON (events with message)', async () => {
    const events = { events: [...good.map((message) => ({ timestamp: 1, message })), { message: null }] };
    const s = await suggest(JSON.stringify(events));
    expect(s.policy.allowedDomains).toEqual(['a.example.com', 'b.example.com']);
    expect(s.lines.skipped.malformed).toBe(1);
  });

  test('JSON that is not an export is refused as a whole, naming what it expected', async () => {
    await expect(suggest('{"foo": 1}')).rejects.toThrow(InputError);
    await expect(suggest('{"results": [')).rejects.toThrow(/does not parse/);
  });

  test('a raw log with hostile lines: every bad line is counted, every good one is read', async () => {
    const hostile = Buffer.concat([
      Buffer.from(`${good[0]}\n`),
      Buffer.alloc(2_000_000, 0x41),
      Buffer.from('\n'),
      Buffer.from([0xc3, 0x28, 0x0a]),
      Buffer.from('\x1b]0;pwned\x07\n\n\r\n'),
      Buffer.from(`${good[1]}\r\n`),
      Buffer.from(good[0]),
    ]);
    const s = await suggest(hostile);
    expect(s.lines).toEqual({
      read: 6,
      suggested: 3,
      denied: 0,
      undecided: 0,
      skipped: { tooLong: 1, nonUtf8: 1, malformed: 1, unknownRule: 0 },
    });
  });
});

describe('the command', () => {
  test('suggest --format json prints the suggestion, and the counts on standard error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'suggest-'));
    writeFileSync(`${dir}/access.log`, [audited('a.example.com'), 'junk'].join('\n'));
    const out = sink();
    const err = sink();
    expect(await main(['suggest', '--log', `${dir}/access.log`, '--format', 'json'], out as any, err as any)).toBe(0);
    expect(JSON.parse(out.text()).policy).toEqual({ allowedDomains: ['a.example.com'] });
    rmSync(dir, { recursive: true, force: true });
    expect(err.text()).toContain(
      '2 lines: 1 requests suggested, 0 denied, 0 undecided, 0 not allowable, 1 skipped (1 malformed',
    );
  });

  test.each<[string[], number, RegExp]>([
    [[], 2, /No command given/],
    [['audit'], 2, /Unknown command 'audit'/],
    [['suggest'], 2, /needs at least one --log FILE/],
    [['suggest', '--log', 'x', '--format', 'yaml'], 2, /Invalid --format 'yaml'/],
    [['suggest', '--log', 'x', '--max-line-bytes', '10'], 2, /Invalid --max-line-bytes '10'/],
    [['suggest', '--log', '/nonexistent/access.log'], 1, /Cannot read \/nonexistent\/access.log: ENOENT/],
  ])('%j exits %i', async (argv, code, message) => {
    const err = sink();
    expect(await main(argv, sink() as any, err as any)).toBe(code);
    expect(err.text()).toMatch(message);
  });
});

describe('packaging', () => {
  const root = join(__dirname, '..');
  test('package.json names the command, the files list ships it, and the consumer lane expects it', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.bin).toEqual({ 'cdk-private-egress-proxy': 'lib/cli/main.js' });
    expect(pkg.files).toContain('lib/**/*.js');
    const lines = readFileSync(join(root, 'scripts', 'ci', 'package-files.txt'), 'utf8').split('\n');
    expect(lines).toContain('lib/cli/main.js');
    expect(readFileSync(join(root, 'src', 'cli', 'main.ts'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  test('the command is not part of the library API (src/index.ts exports none of it)', () => {
    for (const name of ['main', 'SuggestionBuilder', 'parseAccessLogLine', 'readInput', 'createDashboard']) {
      expect(Object.keys(lib)).not.toContain(name);
    }
  });
});
