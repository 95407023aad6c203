/**
 * The files CloudFormation::Init writes on a proxy instance, taken from the synthesized template
 * and run with real Squid: `squid -k parse` accepts them, they enforce the policy behind PROXY
 * protocol, the control script reloads a new allowlist without dropping an open tunnel, and a
 * configuration that fails the check is rolled back while the old one keeps serving.
 *
 * Only paths move (into the lab's directory) and Squid is pointed at the lab's hosts file;
 * the policy and every other line are exactly what the template carries.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { dirname, join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { makeCertificates, TestCertificates } from './certs';
import { ALLOWED_DOMAINS, CERT_NAMES, hostsFor } from './fixtures';
import { Lab } from './lab';
import { openTunnel, ppv2, proxyRequest, watchStream } from './proxy-client';
import { describeWithRealSquid } from './requirements';
import { canConnect, SQUID, Upstream, waitFor } from './squid-runner';
import { EgressPolicy, EgressPolicyProps, EgressProxyProvider } from '../../src';

const STAGE = '/var/lib/egress-proxy/staged';
const CONTROL_SCRIPT = '/usr/local/sbin/egress-proxy';
const CLIENT = { source: '10.50.1.2', endpointId: 'vpce-0123456789abcdef0' };

/** CloudWatch Logs term matching for unstructured events (plain terms must occur, `-` terms must not). */
function cloudWatchTermsMatch(pattern: string, line: string): boolean {
  const terms = [...pattern.matchAll(/(-?)(?:"([^"]*)"|(\S+))/g)].map((m) => ({
    exclude: m[1] === '-',
    text: m[2] ?? m[3],
  }));
  return terms.every((t) => line.includes(t.text) !== t.exclude);
}

/** A file of the init metadata: where cfn-init writes it, its content and mode. */
interface InitFile {
  readonly path: string;
  readonly content: string;
  readonly mode: string;
}

/**
 * Synthesize a provider whose load balancer subnets contain the lab's host address (the peer
 * Squid sees, as it would see the load balancer), and return the files cfn-init writes in the
 * `stage` config and the control script of the `setup` config.
 */
function initFiles(lab: Lab, policy: EgressPolicyProps): { stage: InitFile[]; setup: InitFile[] } {
  const stack = new Stack(new App(), 'Stack');
  const lbNet = lab.hostAddress.replace(/\.\d+$/, '.0/24');
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-12345678',
    vpcCidrBlock: '10.233.0.0/16',
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    privateSubnetIds: ['subnet-aaaaaaaa', 'subnet-bbbbbbbb'],
    privateSubnetIpv4CidrBlocks: [lbNet, '10.233.250.0/24'],
  });
  new EgressProxyProvider(stack, 'Proxy', { vpc, policy: new EgressPolicy(policy) });
  const asg = Object.values(Template.fromStack(stack).findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
  const init = asg.Metadata['AWS::CloudFormation::Init'];
  const files = (config: string): InitFile[] =>
    Object.entries<any>(init[config].files).map(([path, f]) => ({ path, content: f.content, mode: f.mode }));
  const stage = files('stage');
  for (const f of stage) {
    if (typeof f.content !== 'string') throw new Error(`${f.path} is not inline text in the template`);
  }
  return { stage, setup: files('setup').filter((f) => f.path === CONTROL_SCRIPT) };
}

describeWithRealSquid('the CloudFormation::Init files of EgressProxyProvider, with real Squid', () => {
  let lab: Lab;
  let certs: TestCertificates;
  let upstream: Upstream;
  let root: string;
  let rewrite: (text: string) => string;
  let squid: ReturnType<Lab['spawn']> | undefined;

  /** Write the files a config writes, at their lab paths; squid.conf also gets the lab's hosts file. */
  const writeInitFiles = (files: InitFile[], edit: (path: string, content: string) => string = (_p, c) => c) => {
    for (const f of files) {
      const path = f.path.startsWith(`${STAGE}/`)
        ? rewrite(STAGE) + rewrite(f.path.slice(STAGE.length))
        : rewrite(f.path);
      let content = rewrite(f.content);
      if (f.path === `${STAGE}/etc/squid/squid.conf`) {
        content += `# Lab only: names resolve from the lab's hosts file, and nothing else.\nhosts_file ${root}/hosts\ndns_nameservers 127.0.0.1\n`;
      }
      content = edit(f.path, content);
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      writeFileSync(path, content);
      chmodSync(path, parseInt(f.mode, 8));
    }
  };
  /** Run the control script from the template, inside the lab's namespace. */
  const control = (...args: string[]) =>
    lab.exec('bash', [rewrite(CONTROL_SCRIPT), ...args], { ...process.env, EGRESS_PROXY_SQUID_GROUP: 'proxy' });
  const conf = () => `${root}/etc/squid/squid.conf`;
  const request = (host: string) =>
    proxyRequest({ proxyHost: lab.proxyAddress, proxyPort: 3128, ppv2: CLIENT, target: `${host}:443`, ca: certs.ca });
  const accessLog = () => {
    const f = `${root}/log/squid/access.log`;
    return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
  };

  beforeAll(async () => {
    lab = Lab.create();
    chmodSync(lab.dir, 0o755);
    root = join(lab.dir, 'instance');
    const paths: Array<[string, string]> = [
      ['/var/lib/egress-proxy', `${root}/var/lib/egress-proxy`],
      ['/etc/squid', `${root}/etc/squid`],
      ['/var/log/squid', `${root}/log/squid`],
      ['/run/squid.pid', `${root}/log/squid/squid.pid`],
      [CONTROL_SCRIPT, `${root}/sbin/egress-proxy`],
    ];
    rewrite = (text) => paths.reduce((t, [from, to]) => t.split(from).join(to), text);
    for (const d of ['etc/squid', 'var/lib/egress-proxy', 'sbin']) {
      mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
    }
    mkdirSync(join(root, 'log/squid'), { recursive: true });
    chmodSync(join(root, 'log/squid'), 0o777);
    chmodSync(root, 0o755);
    const hosts = hostsFor(lab);
    writeFileSync(
      join(root, 'hosts'),
      Object.entries(hosts)
        .map(([n, a]) => `${a} ${n}`)
        .join('\n') + '\n',
      { mode: 0o644 },
    );
    certs = makeCertificates(lab.dir, CERT_NAMES);
    upstream = await Upstream.start(lab, certs.serverCert, certs.serverKey);
  });

  afterAll(async () => {
    if (squid) await lab.stop(squid, 'SIGINT', 20_000);
    await upstream?.stop();
    lab?.destroy();
  });

  test('first boot: the certificate, parse check and apply succeed, and Squid enforces the policy behind PROXY protocol', async () => {
    const { stage, setup } = initFiles(lab, { allowedDomains: ALLOWED_DOMAINS });
    writeInitFiles(setup);
    writeInitFiles(stage);

    control('bump-cert');
    expect(readFileSync(`${root}/etc/squid/egress-bump.pem`, 'utf8')).toMatch(
      /BEGIN CERTIFICATE[\s\S]*BEGIN PRIVATE KEY/,
    );
    expect(control('apply')).toBe('');
    expect(readFileSync(conf(), 'utf8')).toContain(
      `acl egress_ppv2_peers src ${lab.hostAddress.replace(/\.\d+$/, '.0/24')} 10.233.250.0/24`,
    );
    // squid -k parse accepts the installed files (it throws on a non-zero exit).
    execFileSync('ip', ['netns', 'exec', lab.name, SQUID, '-k', 'parse', '-f', conf()], { stdio: 'pipe' });

    squid = lab.spawn(SQUID, ['-N', '-f', conf()]);
    let stderr = '';
    squid.stderr?.on('data', (d) => (stderr += d));
    await waitFor('Squid to listen', () => {
      if (squid!.exitCode !== null) throw new Error(`Squid exited: ${stderr}`);
      return canConnect(lab.proxyAddress, 3128);
    });

    const before = upstream.accepts();
    const allowed = await request('exact.allowed.test');
    expect(allowed).toEqual(expect.objectContaining({ status: 200, reachedUpstream: true }));
    const afterAllowed = upstream.accepts();
    expect(afterAllowed).toBeGreaterThan(before);
    const denied = await request('denied.test');
    expect(denied.reachedUpstream).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(upstream.accepts()).toBe(afterAllowed);

    // An NLB health check: a PROXY LOCAL header, then nothing. Squid stays up and logs nothing.
    await healthCheck(lab.proxyAddress, 3128);
    // Without the PROXY header, Squid closes the connection: only the load balancer gets in.
    expect(await request('exact.allowed.test').then((r) => r.reachedUpstream)).toBe(true);
    const bare = await proxyRequest({
      proxyHost: lab.proxyAddress,
      proxyPort: 3128,
      target: 'exact.allowed.test:443',
      ca: certs.ca,
    });
    expect(bare.reachedUpstream).toBe(false);

    // The access log names the client from the PROXY header, and the denied-requests metric
    // filter counts exactly the denied request.
    await waitFor('the access log', () => accessLog().length >= 3, 5000);
    const lines = accessLog();
    expect(lines.every((l) => l.includes(`client=${CLIENT.source}`))).toBe(true);
    const deniedLines = lines.filter((l) =>
      cloudWatchTermsMatch(EgressProxyProvider.DENIED_REQUESTS_FILTER_PATTERN, l),
    );
    expect(deniedLines).toHaveLength(1);
    expect(deniedLines[0]).toContain('dest=denied.test:443');
    expect(
      lines.filter((l) => cloudWatchTermsMatch(EgressProxyProvider.AUDITED_REQUESTS_FILTER_PATTERN, l)),
    ).toHaveLength(0);
  }, 120_000);

  test('reload: a new allowlist is staged and applied with squid -k reconfigure, and an open tunnel keeps flowing', async () => {
    expect(squid).toBeDefined();
    const tunnel = await openTunnel({
      proxyHost: lab.proxyAddress,
      proxyPort: 3128,
      target: 'exact.allowed.test:443',
      ca: certs.ca,
      ppv2: CLIENT,
    });
    const stream = watchStream(tunnel, 'exact.allowed.test', 4000, 100);
    await waitFor('the stream to start', () => stream.ticks > 0, 5000);

    const { stage } = initFiles(lab, { allowedDomains: [...ALLOWED_DOMAINS, 'denied.test'] });
    writeInitFiles(stage);
    const ticksBefore = stream.ticks;
    expect(control('apply')).toBe('');
    expect(readFileSync(`${root}/etc/squid/egress-allowed-domains.txt`, 'utf8').split('\n')).toContain('denied.test');

    await waitFor(
      'the new allowlist to take effect',
      async () => (await request('denied.test')).reachedUpstream,
      15_000,
    );
    await stream.finished;
    expect(stream).toEqual(expect.objectContaining({ done: true, closedEarly: false }));
    expect(stream.ticks).toBeGreaterThan(ticksBefore);
  }, 120_000);

  test('a configuration that fails squid -k parse is rolled back and the old one keeps serving', async () => {
    expect(squid).toBeDefined();
    const previousConf = readFileSync(conf(), 'utf8');
    const previousAllowlist = readFileSync(`${root}/etc/squid/egress-allowed-domains.txt`, 'utf8');
    // A policy that adds files (endpoint IDs) and drops a domain, staged with a squid.conf line
    // that references an ACL that does not exist.
    const { stage } = initFiles(lab, {
      allowedDomains: ALLOWED_DOMAINS.filter((d) => d !== 'exact.allowed.test'),
      allowedEndpointIds: ['vpce-0123456789abcdef0'],
    });
    writeInitFiles(stage, (path, content) =>
      path.endsWith('/squid.conf')
        ? content.replace('http_access deny all', 'http_access deny no_such_acl\nhttp_access deny all')
        : content,
    );

    let failure = '';
    try {
      control('apply');
    } catch (e: any) {
      failure = String(e.stderr);
    }
    expect(failure).toMatch(/squid -k parse rejected the new configuration; the previous one stays in service/);
    expect(failure).toMatch(/no_such_acl/);
    expect(
      failure.split('\n').some((l) => cloudWatchTermsMatch(EgressProxyProvider.RELOAD_FAILURES_FILTER_PATTERN, l)),
    ).toBe(true);
    expect(readFileSync(conf(), 'utf8')).toBe(previousConf);
    expect(readFileSync(`${root}/etc/squid/egress-allowed-domains.txt`, 'utf8')).toBe(previousAllowlist);
    // The file the new policy adds is gone again (the endpoint helper itself is in both configurations).
    expect(existsSync(`${root}/etc/squid/egress-endpoint-ids.txt`)).toBe(false);
    expect(squid!.exitCode).toBeNull();
    expect((await request('exact.allowed.test')).reachedUpstream).toBe(true);
    expect((await request('denied.test')).reachedUpstream).toBe(true);
  }, 120_000);
});

/** What an NLB TCP health check sends with PROXY protocol v2 on: a LOCAL header, then it closes. */
function healthCheck(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    s.once('error', reject);
    s.once('connect', () => {
      s.write(ppv2('local'));
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 200);
    });
  });
}
