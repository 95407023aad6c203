/**
 * The set-up the real-Squid suites share: a lab namespace (test/squid/lab.ts), test certificates,
 * one TLS upstream, the lab's hosts file, and every Squid a suite starts, all stopped by PID after
 * the suite (also when a test fails). Call it inside the suite's `describe`.
 */
import { makeCertificates, TestCertificates } from './certs';
import { CERT_NAMES, hostsFor } from './fixtures';
import { Lab } from './lab';
import { SquidRun, SquidRunOptions, Upstream } from './squid-runner';
import { EgressPolicy, EgressPolicyProps } from '../../src';

export interface SquidSuite {
  readonly lab: Lab;
  readonly certs: TestCertificates;
  readonly upstream: Upstream;
  /** The lab's names and the addresses they map to (the allowlist fixtures on the upstream). */
  readonly hosts: Record<string, string>;
  /** Start Squid with the policy, rendered with the suite's defaults and then `opts`. */
  start(props: EgressPolicyProps, opts?: Partial<SquidRunOptions>): Promise<SquidRun>;
  /** Stop a Squid the suite started (the rest are stopped after the suite). */
  stop(squid: SquidRun): Promise<void>;
}

export interface SquidSuiteOptions {
  /** Render options every `start` uses, before its own. */
  readonly defaults?: (suite: SquidSuite) => Partial<SquidRunOptions>;
  /** Runs after everything is stopped: the suite's summary line. */
  readonly summary?: () => void;
}

export function squidSuite(options: SquidSuiteOptions = {}): SquidSuite {
  let lab: Lab | undefined;
  let certs: TestCertificates | undefined;
  let upstream: Upstream | undefined;
  let hosts: Record<string, string> | undefined;
  const running: SquidRun[] = [];
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the real-Squid suite is not set up (use it inside a test)');
    return value;
  };
  const suite: SquidSuite = {
    get lab() {
      return ready(lab);
    },
    get certs() {
      return ready(certs);
    },
    get upstream() {
      return ready(upstream);
    },
    get hosts() {
      return ready(hosts);
    },
    async start(props, opts = {}) {
      const squid = await SquidRun.start(suite.lab, new EgressPolicy(props), {
        bumpFile: suite.certs.bumpFile,
        hosts: suite.hosts,
        ...options.defaults?.(suite),
        ...opts,
      });
      running.push(squid);
      return squid;
    },
    async stop(squid) {
      await squid.stop();
      running.splice(running.indexOf(squid), 1);
    },
  };
  beforeAll(async () => {
    lab = Lab.create();
    certs = makeCertificates(lab.dir, CERT_NAMES);
    hosts = hostsFor(lab);
    upstream = await Upstream.start(lab, certs.serverCert, certs.serverKey);
  });
  afterAll(async () => {
    for (const squid of running.splice(0)) await squid.stop();
    await upstream?.stop();
    lab?.destroy();
    options.summary?.();
  });
  return suite;
}
