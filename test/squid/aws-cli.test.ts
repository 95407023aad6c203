/**
 * The real AWS CLI v2 (Debian's awscli, /usr/bin/aws) through real Squid running the rendered
 * configuration, against a mock STS inside the lab. Nothing leaves the lab's namespace: the CLI
 * runs inside it too, with instance-metadata lookups disabled.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeCertificates, TestCertificates } from './certs';
import { Lab } from './lab';
import { proxyRequest } from './proxy-client';
import { describeWithRealSquid } from './requirements';
import { SquidRun, Upstream } from './squid-runner';
import { AwsEndpoints, AwsService, EgressPolicy } from '../../src';

const AWS = '/usr/bin/aws';
const ACCOUNT = '210987654321';

describeWithRealSquid('the AWS CLI v2 through the rendered Squid configuration', () => {
  let lab: Lab;
  let certs: TestCertificates;
  let upstream: Upstream;
  let squid: SquidRun;

  beforeAll(async () => {
    lab = Lab.create();
    const names = ['sts.us-east-1.amazonaws.com', 'sts.amazonaws.com', 'ec2.us-east-1.amazonaws.com', 'denied.test'];
    certs = makeCertificates(lab.dir, names);
    upstream = await Upstream.start(lab, certs.serverCert, certs.serverKey, ACCOUNT);
    const policy = new EgressPolicy({
      allowedDomains: AwsEndpoints.hostnames({ services: [AwsService.STS], regions: ['us-east-1'] }),
    });
    const hosts: Record<string, string> = {};
    // Every name, allowed or not, points at the lab's upstream: a leak would show there.
    for (const n of names) hosts[n] = lab.upstreamAddresses[0];
    squid = await SquidRun.start(lab, policy, { bumpFile: certs.bumpFile, hosts });
  });
  afterAll(async () => {
    await squid?.stop();
    await upstream?.stop();
    lab?.destroy();
  });

  function aws(...args: string[]) {
    const home = join(lab.dir, 'aws-home');
    mkdirSync(home, { recursive: true });
    const env = {
      PATH: '/usr/bin:/bin',
      HOME: home,
      HTTPS_PROXY: `http://${squid.address}:${squid.port}`,
      HTTP_PROXY: `http://${squid.address}:${squid.port}`,
      NO_PROXY: '169.254.169.254,169.254.170.2,localhost,127.0.0.1',
      AWS_CA_BUNDLE: certs.caFile,
      AWS_ACCESS_KEY_ID: 'AKIAEGRESSTEST000000',
      AWS_SECRET_ACCESS_KEY: 'egress-test-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_MAX_ATTEMPTS: '1',
      AWS_PAGER: '',
      AWS_CONFIG_FILE: join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
    };
    const r = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        lab.name,
        AWS,
        ...args,
        '--region',
        'us-east-1',
        '--cli-connect-timeout',
        '5',
        '--cli-read-timeout',
        '10',
      ],
      {
        env,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  test('sts get-caller-identity through the proxy returns the mock STS account', () => {
    const r = aws('sts', 'get-caller-identity', '--output', 'json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).Account).toBe(ACCOUNT);
    const line = squid.accessLog().find((l) => l.includes('dest=sts.us-east-1.amazonaws.com:443'));
    expect(line).toMatch(/rule=allowlisted/);
  });

  test('a service outside the allowlist fails, never reaches its upstream, and the access log shows the denial', () => {
    const before = upstream.accepts();
    const r = aws('ec2', 'describe-regions', '--output', 'json');
    expect(r.status).not.toBe(0);
    // With the refusal answered as a plain 403 (not bumped), the CLI reports a proxy failure, not a certificate error.
    expect(r.stderr).toMatch(/Failed to connect to proxy URL/);
    expect(r.stderr).not.toMatch(/SSL validation failed/);
    expect(upstream.accepts()).toBe(before);
    const line = squid.accessLog().find((l) => l.includes('dest=ec2.us-east-1.amazonaws.com:443'));
    expect(line).toMatch(/status=TCP_DENIED\S*\/403/);
    expect(line).toMatch(/rule=destination-not-allowed/);
  });

  test('a refused CONNECT gets a plain 403 naming the rule, with no 200 and no TLS first', async () => {
    const r = await proxyRequest({
      proxyHost: squid.address,
      proxyPort: squid.port,
      target: 'denied.test:443',
      ca: certs.ca,
    });
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/^HTTP\/1\.1 403 Forbidden/);
    expect(r.body).toMatch(/\r\nX-Egress-Denied-By: destination-not-allowed\r\n/i);
    expect(r.body).not.toMatch(/\r\nX-Cache/i);
    expect(r.reachedUpstream).toBe(false);
  });
});
