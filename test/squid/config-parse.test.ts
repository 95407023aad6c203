/**
 * `squid -k parse` (real Squid 5.7, the Debian stand-in for Amazon Linux 2023's 5.8) accepts every
 * configuration the renderer produces, without warnings other than the deliberate `via off` one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCertificates } from './certs';
import { describeWithRealSquid } from './requirements';
import { SquidRun } from './squid-runner';
import {
  AwsEndpoints,
  AwsService,
  EgressMode,
  EgressPolicy,
  EgressPolicyProps,
  SquidConfig,
  SquidRenderOptions,
} from '../../src';

const TEN_THOUSAND = Array.from({ length: 10_000 }, (_, i) => `host-${i}.service-${i % 97}.example.com`);
const PRESETS = AwsEndpoints.hostnames({
  services: [
    AwsService.STS,
    AwsService.S3,
    AwsService.SSM,
    AwsService.SSM_MESSAGES,
    AwsService.EC2_MESSAGES,
    AwsService.ECR_API,
    AwsService.ECR_DKR,
    AwsService.CLOUDWATCH_LOGS,
    AwsService.KMS,
    AwsService.SSO,
    AwsService.SSO_OIDC,
    AwsService.IAM,
  ],
  regions: ['us-east-1', 'eu-west-1'],
  s3Buckets: ['my-artifacts'],
  ecrAccountIds: ['123456789012'],
  fips: true,
  dualStack: true,
});

const POLICIES: Array<[string, EgressPolicyProps]> = [
  ['enforce, one exact name', { allowedDomains: ['sts.us-east-1.amazonaws.com'] }],
  ['enforce, wildcards of both kinds', { allowedDomains: ['.example.com', '*.example.org', 'example.net'] }],
  [
    'enforce, plain HTTP on, extra ports',
    { allowedDomains: ['example.com'], allowPlainHttp: true, ports: [443, 8443, 9443] },
  ],
  [
    'enforce, sources and endpoint IDs',
    {
      allowedDomains: ['example.com'],
      sourceCidrs: ['10.0.0.0/8', '2001:db8::/32'],
      allowedEndpointIds: ['vpce-0123456789abcdef0'],
    },
  ],
  ['audit, empty allowlist', { mode: EgressMode.AUDIT }],
  [
    'audit, everything on',
    {
      mode: EgressMode.AUDIT,
      allowedDomains: ['*.example.com'],
      allowPlainHttp: true,
      sourceCidrs: ['10.0.0.0/8'],
      allowedEndpointIds: ['vpce-0a1b2c3d'],
    },
  ],
  ['AWS presets', { allowedDomains: PRESETS }],
  ['10,000 domains', { allowedDomains: TEN_THOUSAND }],
];

const OPTIONS: Array<[string, Partial<SquidRenderOptions>]> = [
  ['PROXY protocol on, 2 vCPUs', { proxyProtocolSources: ['10.0.0.0/24', '10.0.1.0/24'], vcpus: 2 }],
  ['PROXY protocol off, 1 vCPU', { vcpus: 1 }],
];

/** What Squid may say while parsing: its `via off` note, and the TLS set-up lines. */
const EXPECTED_WARNINGS = [/WARNING: HTTP requires the use of Via/];

describeWithRealSquid('squid -k parse accepts every rendered configuration', () => {
  let dir: string;
  let bumpFile: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pep-parse-'));
    bumpFile = makeCertificates(dir, ['example.com']).bumpFile;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const [pname, props] of POLICIES) {
    for (const [oname, opts] of OPTIONS) {
      const needsPpv2 = (props.sourceCidrs ?? props.allowedEndpointIds) !== undefined;
      if (needsPpv2 && !opts.proxyProtocolSources) continue;
      test(`${pname}; ${oname}`, () => {
        const sub = mkdtempSync(join(dir, 'c-'));
        const conf = SquidConfig.render(new EgressPolicy(props), {
          ...opts,
          configDirectory: join(sub, 'etc'),
          logDirectory: join(sub, 'log'),
          pidFile: join(sub, 'squid.pid'),
          certificateFile: bumpFile,
        });
        SquidRun.write(conf);
        const out = SquidRun.parse(undefined, conf.configFile);
        const complaints = out
          .split('\n')
          .filter((l) => /WARNING|ERROR|FATAL|Bungled|unrecognized/i.test(l))
          .filter((l) => !EXPECTED_WARNINGS.some((w) => w.test(l)));
        expect(complaints).toEqual([]);
      });
    }
  }

  test('a broken configuration is rejected (the check can fail)', () => {
    const sub = mkdtempSync(join(dir, 'bad-'));
    const conf = SquidConfig.render(new EgressPolicy({ allowedDomains: ['example.com'] }), {
      configDirectory: join(sub, 'etc'),
      logDirectory: join(sub, 'log'),
      certificateFile: bumpFile,
    });
    SquidRun.write({
      ...conf,
      files: conf.files.map((f) =>
        f.path === conf.configFile ? { ...f, content: f.content + 'http_access allow no_such_acl\n' } : f,
      ),
    });
    expect(() => SquidRun.parse(undefined, conf.configFile)).toThrow(/no_such_acl/);
  });
});
