/**
 * The life of a proxy instance under real systemd: the provider's synthesized template, applied
 * to a Debian bookworm root filesystem booted with systemd-nspawn, the way an EC2 instance would
 * run it (see al2023-on-debian.json for every difference and how it is bridged). The template's
 * own user data runs at first boot; its cfn-init, cfn-signal and cfn-hup calls go to stand-ins
 * that apply the metadata (cfn-init), record signals, and poll for stack updates (cfn-hup, which
 * daemonizes exactly like the real one and runs its hook's action line as written).
 *
 * Traffic comes from this process, at an address in the load balancer's subnet, with PROXY
 * protocol v2 headers as the NLB sends them; destinations live in a second namespace at
 * AS112 sink addresses. Nothing can leave the two namespaces (test/host/network.ts checks the
 * routes first). The run prints `host boot: N checks passed, N failed`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProxyInstance, rootFilesystem, sleep, STANDIN_MINUTE_SECONDS, waitUntil } from './instance';
import { HostNetwork } from './network';
import { HostTemplate, synthesizeHost } from './template';
import { EgressProxyProvider } from '../../src';
import { STAGE_DIR } from '../../src/private/proxy-host';
import { makeCertificates, TestCertificates } from '../squid/certs';
import { openTunnel, ppv2, proxyRequest, watchStream } from '../squid/proxy-client';

const ALLOWED = 'allowed.host.test';
const ADDED = 'added.host.test';
const DENIED = 'denied.host.test';
const STAGED_ALLOWLIST = `${STAGE_DIR}/etc/squid/egress-allowed-domains.txt`;
const CLIENT = { source: '10.50.1.2', endpointId: 'vpce-0123456789abcdef0' };
const PORT = 3128;
const HEALTH_CHECK_PORT = 3129;
/** Units the template writes or that the proxy runs as. */
const OUR_UNITS = ['squid.service', 'cfn-hup.service', 'egress-proxy-firewall.service', 'pep-user-data.service'];

/** Root, systemd-nspawn and debootstrap; under CI=true a missing one fails instead of skipping. */
function describeHostBoot(name: string, fn: () => void): void {
  const missing = ['/usr/bin/systemd-nspawn', '/usr/sbin/debootstrap', '/usr/bin/nsenter'].filter(
    (p) => !existsSync(p),
  );
  const problems = [
    ...(missing.length
      ? [`missing ${missing.join(', ')} (apt-get install systemd-container debootstrap util-linux)`]
      : []),
    ...(process.getuid?.() !== 0 ? ['not root: namespaces and containers need root'] : []),
  ];
  if (problems.length === 0) {
    describe(name, fn);
  } else if (process.env.CI === 'true') {
    describe(name, () => test('has what the boot test needs', () => fail(problems.join('; '))));
  } else {
    // eslint-disable-next-line no-console
    console.warn(`SKIPPED '${name}': ${problems.join('; ')}`);
    describe.skip(name, fn);
  }
}

function fail(message: string): never {
  throw new Error(message);
}

/** The files one config of the metadata writes. */
function filesOf(metadata: any, config: string): Record<string, any> {
  return metadata['AWS::CloudFormation::Init'][config].files;
}

/** Every allowed name plus enough filler names that the allowlist travels as an S3 asset (over 32 KiB). */
function longAllowlist(...names: string[]): string[] {
  return [...names, ...Array.from({ length: 2000 }, (_, i) => `filler-${i}.allowlist.test`)];
}

describeHostBoot('a proxy instance booted under systemd', () => {
  let network: HostNetwork;
  let certs: TestCertificates;
  let work: string;
  let rootfs: string;
  let host: HostTemplate;
  let instance: ProxyInstance;
  let upstreamAccepts: () => number;
  let hosts: Record<string, string>;

  const request = (target: string) =>
    proxyRequest({
      proxyHost: network.proxyAddress,
      proxyPort: PORT,
      ppv2: CLIENT,
      target: `${target}:443`,
      ca: certs.ca,
    });
  const reaches = async (target: string) => (await request(target)).reachedUpstream;
  const squidActive = () => instance.exec(['systemctl', 'is-active', 'squid.service']).stdout.trim() === 'active';

  beforeAll(async () => {
    rootfs = rootFilesystem();
    network = HostNetwork.create('boot');
    work = mkdtempSync(join(tmpdir(), 'pep-host-'));
    certs = makeCertificates(work, [ALLOWED, ADDED, DENIED]);
    const [a, b, c] = network.upstreamAddresses;
    hosts = { [ALLOWED]: a, [ADDED]: b, [DENIED]: c };
    upstreamAccepts = await startUpstream(network, work, certs);
    host = synthesizeHost(network, [ALLOWED], join(work, 'cdk.out'));
    instance = ProxyInstance.create({ name: 'boot', rootfs, host, network, hosts });
    await instance.boot();
    // CloudFormation marks the group complete once it has the signal; cfn-hup skipped it until then.
    await waitUntil('the signal', () => instance.calls('cfn-signal').length > 0, 60_000);
    instance.setStackResource(host.metadata, 'CREATE_COMPLETE');
  }, 600_000);

  afterAll(() => tearDown(instance, network, work), 120_000);

  test('every unit file the template writes passes systemd-analyze verify', () => {
    const units = Object.keys(filesOf(host.metadata, 'setup')).filter((p) =>
      /^\/etc\/systemd\/system\/[^/]+\.service$/.test(p),
    );
    expect(units.sort()).toEqual([
      '/etc/systemd/system/cfn-hup.service',
      '/etc/systemd/system/egress-proxy-firewall.service',
    ]);
    // The drop-in is verified with the unit it extends.
    for (const unit of [...units, '/lib/systemd/system/squid.service']) {
      const r = instance.exec(['systemd-analyze', 'verify', '--man=no', unit]);
      expect({ unit, status: r.status, output: r.stderr + r.stdout }).toEqual({ unit, status: 0, output: '' });
    }
  });

  test('after boot Squid, cfn-hup and the connection cap are active and systemctl --failed names none of ours', () => {
    for (const unit of ['squid.service', 'cfn-hup.service', 'egress-proxy-firewall.service']) {
      expect({ unit, state: instance.exec(['systemctl', 'is-active', unit]).stdout.trim() }).toEqual({
        unit,
        state: 'active',
      });
    }
    const failed = instance.sh('systemctl --failed --plain --no-legend | cut -d" " -f1');
    expect(failed.split('\n').filter((u) => OUR_UNITS.includes(u))).toEqual([]);
  });

  test("cfn-hup runs as its unit's main process, daemonized as the real one: a PID lock file, no fork", () => {
    const mainPid = instance.sh('systemctl show -p MainPID --value cfn-hup.service').trim();
    expect(instance.sh('cat /var/run/cfn-hup.pid').trim()).toBe(mainPid);
    expect(instance.sh('systemctl show -p Type --value cfn-hup.service').trim()).toBe('simple');
    const start = instance.calls('cfn-hup').find((c) => c.event === 'start')!;
    expect(start.ppid).toBe(1);
  });

  test('the same cfn-hup under the old Type=forking unit never comes up: python-daemon does not fork under PID 1', () => {
    instance.sh('systemctl stop cfn-hup.service');
    try {
      const r = instance.exec([
        'systemd-run',
        '--unit=cfn-hup-forking',
        '-p',
        'Type=forking',
        '-p',
        'PIDFile=/run/cfn-hup.pid',
        '-p',
        'TimeoutStartSec=5s',
        '/opt/aws/bin/cfn-hup',
      ]);
      expect(r.status).not.toBe(0);
      expect(instance.sh('systemctl show -p Result --value cfn-hup-forking.service').trim()).toBe('timeout');
    } finally {
      instance.exec(['systemctl', 'reset-failed', 'cfn-hup-forking.service']);
      instance.sh('systemctl start cfn-hup.service');
    }
    expect(instance.exec(['systemctl', 'is-active', 'cfn-hup.service']).stdout.trim()).toBe('active');
  });

  test('the success signal is sent once, only after Squid listens, and cfn-init ran the install config set', () => {
    const signals = instance.calls('cfn-signal');
    expect(signals).toHaveLength(1);
    expect(signals[0]).toEqual(
      expect.objectContaining({ status: 'SUCCESS', exitCode: 0, resource: host.resource, stack: host.stackName }),
    );
    expect(signals[0].listening).toContain(PORT);
    const inits = instance.calls('cfn-init');
    expect(inits.map((c) => c.configsets)).toEqual(['install']);
    expect(inits[0].time).toBeLessThan(signals[0].time);
  });

  test('the CloudWatch agent is started with the configuration the template writes', () => {
    const [agent] = instance.calls('amazon-cloudwatch-agent-ctl');
    expect(agent.config).toBe('/opt/aws/amazon-cloudwatch-agent/etc/egress-proxy.json');
    expect(agent.files).toEqual(expect.arrayContaining(['/var/log/squid/access.log', '/var/log/squid/cache.log']));
  });

  test("the NLB's health check passes: a TCP connection to the health-check port with a PROXY LOCAL header", async () => {
    const accessBefore = instance.read('/var/log/squid/access.log');
    expect(await healthCheck(network.proxyAddress, HEALTH_CHECK_PORT)).toBe('open');
    expect(squidActive()).toBe(true);
    expect(instance.read('/var/log/squid/access.log')).toBe(accessBefore);
  });

  test('a CONNECT to an allowed name reaches the upstream and a denied one does not; the denied-requests filter counts it', async () => {
    const before = upstreamAccepts();
    expect(await request(ALLOWED)).toEqual(expect.objectContaining({ status: 200, reachedUpstream: true }));
    const afterAllowed = upstreamAccepts();
    expect(afterAllowed).toBeGreaterThan(before);
    const denied = await request(DENIED);
    expect(denied).toEqual(expect.objectContaining({ status: 403, reachedUpstream: false }));
    await sleep(300);
    expect(upstreamAccepts()).toBe(afterAllowed);
    await waitUntil('the access log', () => instance.read('/var/log/squid/access.log').includes(`dest=${DENIED}:443`));
    const lines = instance.read('/var/log/squid/access.log').split('\n').filter(Boolean);
    expect(lines.every((l) => l.includes(`client=${CLIENT.source}`))).toBe(true);
    const counted = lines.filter((l) => cloudWatchTermsMatch(EgressProxyProvider.DENIED_REQUESTS_FILTER_PATTERN, l));
    expect(counted).toHaveLength(1);
    expect(counted[0]).toContain(`dest=${DENIED}:443`);
  });

  test("Squid's descriptor limit is the template's LimitNOFILE (this machine clamps what a process gets to 20,000)", () => {
    const dropIn = filesOf(host.metadata, 'setup')['/etc/systemd/system/squid.service.d/egress-proxy.conf'].content;
    const limit = Number(/^LimitNOFILE=(\d+)$/m.exec(dropIn)![1]);
    expect(instance.sh('systemctl show -p LimitNOFILE --value squid.service').trim()).toBe(String(limit));
    const pid = instance.sh('systemctl show -p MainPID --value squid.service').trim();
    const soft = Number(/^Max open files\s+(\d+)/m.exec(instance.sh(`cat /proc/${pid}/limits`))![1]);
    expect(soft).toBe(Math.min(limit, 20_000));
  });

  test('a client over the connection cap gets a TCP reset at once, health checks still pass, and a freed place is taken again', async () => {
    const rules = filesOf(host.metadata, 'setup')['/etc/egress-proxy/firewall.nft'].content;
    const cap = Number(/ct count over (\d+)/.exec(rules)![1]);
    const held = await openConnections(network.proxyAddress, PORT, cap);
    try {
      // Connections of earlier checks that are still closing count against the cap too.
      expect(held.length).toBeLessThanOrEqual(cap);
      expect(held.length).toBeGreaterThan(cap - 10);
      const started = Date.now();
      expect(await connectOutcome(network.proxyAddress, PORT)).toBe('reset');
      expect(Date.now() - started).toBeLessThan(1000);
      expect(await healthCheck(network.proxyAddress, HEALTH_CHECK_PORT)).toBe('open');
      held.splice(0, 5).forEach((s) => s.destroy());
      await waitUntil(
        'a freed place',
        async () => (await connectOutcome(network.proxyAddress, PORT)) === 'open',
        10_000,
      );
    } finally {
      held.forEach((s) => s.destroy());
    }
    await waitUntil('the held connections to close', async () => reaches(ALLOWED), 20_000);
  }, 120_000);

  test("the reload config set applies a changed allowlist (over 32 KiB: an S3 object the role may read) through cfn-hup's hook, and an open tunnel keeps flowing", async () => {
    const tunnel = await openTunnel({
      proxyHost: network.proxyAddress,
      proxyPort: PORT,
      target: `${ALLOWED}:443`,
      ca: certs.ca,
      ppv2: CLIENT,
    });
    const stream = watchStream(tunnel, ALLOWED, 8000, 100);
    await waitUntil('the stream to start', () => stream.ticks > 0, 5000);
    expect(await reaches(ADDED)).toBe(false);

    const updated = synthesizeHost(network, longAllowlist(ALLOWED, ADDED), join(work, 'cdk.out.reload'));
    const staged = filesOf(updated.metadata, 'stage')[STAGED_ALLOWLIST];
    expect(staged.source).toMatch(/^https:\/\/s3\.us-east-1\.amazonaws\.com\/cdk-[^/]+\/[0-9a-f]{64}\.txt$/);
    applyStackUpdate(instance, updated);

    await waitUntil('the new allowlist to take effect', () => reaches(ADDED), 60_000, 500);
    const hookRuns = instance.calls('cfn-hup').filter((c) => c.hook === 'egress-proxy-reload');
    const hookFile = instance.read('/etc/cfn/hooks.d/egress-proxy-reload.conf');
    expect(hookRuns.map((c) => `action=${c.action}`)).toEqual([/^action=.*$/m.exec(hookFile)![0]]);
    expect(instance.calls('cfn-init').map((c) => c.configsets)).toEqual(['install', 'reload']);
    await stream.finished;
    expect(stream).toEqual(expect.objectContaining({ done: true, closedEarly: false }));
    host = updated;
  }, 180_000);

  test('a broken allowlist is rejected by squid -k parse, the old one keeps serving, the rejection is counted, and cfn-hup retries it', async () => {
    const installed = instance.read('/etc/squid/egress-allowed-domains.txt');
    const broken = synthesizeHost(network, [ALLOWED, ADDED], join(work, 'cdk.out.broken'));
    // Squid refuses an allowlist holding a name and a wildcard that covers it ("Bungled").
    filesOf(broken.metadata, 'stage')[STAGED_ALLOWLIST].content += `.${ALLOWED}\n`;
    const runsBefore = instance.calls('cfn-hup').length;

    const rejections = () =>
      instance
        .read('/var/log/cfn-init-cmd.log')
        .split('\n')
        .filter((l) => cloudWatchTermsMatch(EgressProxyProvider.RELOAD_FAILURES_FILTER_PATTERN, l));
    const rejectedBefore = rejections().length;
    applyStackUpdate(instance, broken);
    try {
      // cfn-hup keeps the last state that applied, so it tries the rejected one again at every poll.
      await waitUntil('two rejected reloads', () => rejections().length >= rejectedBefore + 2, 60_000, 500);
      expect(instance.calls('cfn-hup').length).toBeGreaterThanOrEqual(runsBefore + 2);
      expect(rejections()[rejectedBefore]).toMatch(/FATAL: Bungled .*egress_allowed_domains/);
      expect(instance.read('/etc/squid/egress-allowed-domains.txt')).toBe(installed);
      expect(squidActive()).toBe(true);
      expect(await reaches(ALLOWED)).toBe(true);
      expect(await reaches(ADDED)).toBe(true);
    } finally {
      // Deploying the good allowlist again ends the retries: cfn-hup's last applied state is that one.
      applyStackUpdate(instance, host);
    }
    await sleep(3 * STANDIN_MINUTE_SECONDS * 1000);
    const settled = instance.calls('cfn-hup').length;
    await sleep(3 * STANDIN_MINUTE_SECONDS * 1000);
    expect(instance.calls('cfn-hup').length).toBe(settled);
  }, 180_000);

  test('log rotation moves the logs and Squid writes new lines to fresh files', async () => {
    instance.sh('logrotate -f /etc/logrotate.d/squid');
    expect(existsSync(instance.path('/var/log/squid/access.log.1'))).toBe(true);
    expect(await reaches(ALLOWED)).toBe(true);
    await waitUntil('a line in the new access log', () =>
      instance.read('/var/log/squid/access.log').includes(`dest=${ALLOWED}:443`),
    );
  });

  test('killing the Squid master with SIGKILL: systemd starts Squid again and it serves', async () => {
    const pid = instance.sh('systemctl show -p MainPID --value squid.service').trim();
    instance.killProcess(pid);
    await waitUntil(
      'Squid to come back',
      async () =>
        instance.sh('systemctl show -p MainPID --value squid.service').trim() !== pid &&
        squidActive() &&
        reaches(ALLOWED),
      60_000,
      500,
    );
  }, 90_000);

  test('killing a Squid worker with SIGKILL: the master starts a new one and it serves', async () => {
    const worker = instance.sh("ps -eo pid,args | awk '/[(]squid-1[)]/ {print $1}'").trim();
    expect(worker).toMatch(/^\d+$/);
    instance.killProcess(worker);
    await waitUntil(
      'a new worker',
      async () => {
        const now = instance.sh("ps -eo pid,args | awk '/[(]squid-1[)]/ {print $1}'").trim();
        return /^\d+$/.test(now) && now !== worker && reaches(ALLOWED);
      },
      60_000,
      500,
    );
  }, 90_000);

  test('a reboot comes back serving, with the last applied allowlist, without running the user data again', async () => {
    const inits = instance.calls('cfn-init').length;
    const state = await instance.reboot();
    expect(['running', 'degraded']).toContain(state);
    await waitUntil('Squid after the reboot', async () => squidActive() && reaches(ADDED), 60_000, 500);
    expect(await reaches(DENIED)).toBe(false);
    expect(instance.calls('cfn-signal')).toHaveLength(1);
    expect(instance.calls('cfn-init')).toHaveLength(inits);
    expect(
      instance.exec(['systemctl', 'is-active', 'cfn-hup.service', 'egress-proxy-firewall.service']).stdout.trim(),
    ).toBe('active\nactive');
  }, 300_000);
});

describeHostBoot('first boot of a minimal image with a configuration Squid rejects', () => {
  let network: HostNetwork;
  let work: string;
  let instance: ProxyInstance;

  beforeAll(async () => {
    const rootfs = rootFilesystem();
    network = HostNetwork.create('fail');
    work = mkdtempSync(join(tmpdir(), 'pep-host-'));
    const host = synthesizeHost(network, [ALLOWED], join(work, 'cdk.out'));
    filesOf(host.metadata, 'stage')[STAGED_ALLOWLIST].content += `.${ALLOWED}\n`;
    instance = ProxyInstance.create({ name: 'fail', rootfs, host, network, hosts: {}, minimalImage: true });
    expect(existsSync(instance.path('/opt/aws/bin/cfn-init'))).toBe(false);
    await instance.boot();
    await waitUntil('the signal', () => instance.calls('cfn-signal').length > 0, 60_000);
  }, 600_000);

  afterAll(() => tearDown(instance, network, work), 120_000);

  test('the user data installs aws-cfn-bootstrap with dnf before it runs cfn-init', () => {
    const [dnf] = instance.calls('dnf');
    expect(dnf.argv).toEqual(['install', '-y', 'aws-cfn-bootstrap']);
    expect(dnf.time).toBeLessThan(instance.calls('cfn-init')[0].time);
  });

  test('the failure signal carries the reason squid -k parse gave, and Squid was never started', () => {
    const signals = instance.calls('cfn-signal');
    expect(signals).toHaveLength(1);
    expect(signals[0]).toEqual(expect.objectContaining({ status: 'FAILURE', exitCode: 1 }));
    expect(signals[0].reason).toMatch(
      /^cfn-init exited with 1: squid -k parse rejected the new configuration.*FATAL: Bungled/,
    );
    expect(signals[0].listening).not.toContain(PORT);
    expect(instance.exec(['systemctl', 'is-active', 'squid.service']).stdout.trim()).not.toBe('active');
  });
});

/** Stop the instance (by its init's PID), remove the namespaces and the work files. */
async function tearDown(instance?: ProxyInstance, network?: HostNetwork, work?: string): Promise<void> {
  await instance?.destroy();
  network?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
}

/**
 * What CloudFormation does in a stack update, in the template's order: the role's policy (the new
 * asset's grant) and the assets first, then the group's metadata, which is UPDATE_IN_PROGRESS (cfn-hup
 * skips it) until complete.
 */
function applyStackUpdate(instance: ProxyInstance, host: HostTemplate): void {
  instance.putAssets(host.assets);
  instance.setRolePolicy(host.roleName, host.roleStatements);
  instance.setStackResource(host.metadata, 'UPDATE_IN_PROGRESS');
  instance.setStackResource(host.metadata, 'UPDATE_COMPLETE');
}

/** The test upstream (test/squid/upstream-server.js) in the upstream namespace; returns its accept counter. */
async function startUpstream(network: HostNetwork, dir: string, certs: TestCertificates): Promise<() => number> {
  const log = join(dir, 'upstream.log');
  const ready = join(dir, 'upstream.ready');
  execFileSync('touch', [log]);
  network.spawn(network.upstream, process.execPath, [
    join(__dirname, '..', 'squid', 'upstream-server.js'),
    JSON.stringify({
      log,
      ready,
      cert: certs.serverCert,
      key: certs.serverKey,
      account: '210987654321',
      tlsPorts: [443],
      plainPorts: [80],
    }),
  ]);
  await waitUntil('the upstream', () => existsSync(ready), 15_000);
  return () =>
    execFileSync('cat', [log], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes('"event":"accept"')).length;
}

/** An NLB TCP health check: connect, send a PROXY LOCAL header; 'open' when the connection stays up. */
function healthCheck(host: string, port: number): Promise<'open' | 'reset' | 'closed'> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('error', () => resolve('reset'));
    s.once('close', () => resolve('closed'));
    s.once('connect', () => {
      s.write(ppv2('local'));
      setTimeout(() => {
        s.removeAllListeners('close');
        s.destroy();
        resolve('open');
      }, 300);
    });
  });
}

/** Connect and wait briefly: 'open', or 'reset' when refused (the cap's TCP reset). */
function connectOutcome(host: string, port: number): Promise<'open' | 'reset'> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('error', () => resolve('reset'));
    s.once('connect', () => {
      s.write(ppv2(CLIENT));
      setTimeout(() => {
        s.destroy();
        resolve('open');
      }, 200);
    });
  });
}

/** Open `n` connections with a PROXY header each and keep them. */
async function openConnections(host: string, port: number, n: number): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  let next = 0;
  const worker = async () => {
    while (next++ < n) {
      const s = await new Promise<net.Socket | undefined>((resolve) => {
        const c = net.connect({ host, port });
        c.once('error', () => resolve(undefined));
        c.once('connect', () => {
          c.write(ppv2(CLIENT));
          resolve(c);
        });
      });
      if (s) {
        s.on('error', () => {});
        out.push(s);
      }
    }
  };
  await Promise.all(Array.from({ length: 100 }, worker));
  return out;
}

/** CloudWatch Logs term matching for unstructured events (plain terms must occur, `-` terms must not). */
function cloudWatchTermsMatch(pattern: string, line: string): boolean {
  const terms = [...pattern.matchAll(/(-?)(?:"([^"]*)"|(\S+))/g)].map((m) => ({
    exclude: m[1] === '-',
    text: m[2] ?? m[3],
  }));
  return terms.every((t) => line.includes(t.text) !== t.exclude);
}
