import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aws, CfnResource, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { SquidConfigFile } from '../squid-config';
import { hostFile, renderHostTemplate, scriptWithValues, shellAssignments } from './host-files';

/**
 * Where the instance keeps its state. Squid's own files are not written in place: cfn-init writes
 * them under {@link STAGE_DIR} (mirroring their real paths) and the control script's `apply`
 * installs them, checks them with `squid -k parse`, and reloads Squid, or puts the previous files
 * back when the check fails.
 */
const STATE_DIR = '/var/lib/egress-proxy';
export const STAGE_DIR = `${STATE_DIR}/staged`;
const MANIFEST_FILE = `${STATE_DIR}/staged.manifest`;
/** The control script's reason for a failed step, sent with the failure signal at first boot. */
const LAST_ERROR_FILE = `${STATE_DIR}/last-error`;
const CONTROL_SCRIPT = '/usr/local/sbin/egress-proxy';
/** The control script's settings (shell variables); the script sources this path. */
const HOST_ENV_FILE = '/etc/egress-proxy/host.env';
const FIREWALL_RULES_FILE = '/etc/egress-proxy/firewall.nft';
export const SQUID_CONF = '/etc/squid/squid.conf';
export const SQUID_CONFIG_DIR = '/etc/squid';
export const SQUID_LOG_DIR = '/var/log/squid';
export const SQUID_PID_FILE = '/run/squid.pid';
const BUMP_CERT_FILE = '/etc/squid/egress-bump.pem';
const CLOUDWATCH_AGENT_CONFIG = '/opt/aws/amazon-cloudwatch-agent/etc/egress-proxy.json';
/** The group Amazon Linux 2023's `squid` package runs Squid as. */
export const SQUID_GROUP = 'squid';

/** cfn-init config sets: `install` at first boot, `reload` from cfn-hup when the metadata changes. */
export const INSTALL_CONFIG_SET = 'install';
const RELOAD_CONFIG_SET = 'reload';

/** Amazon Linux 2023 packages the instance installs at first boot. */
const HOST_PACKAGES = ['squid', 'openssl', 'nftables', 'amazon-cloudwatch-agent'];

/**
 * Files larger than this travel as S3 assets instead of inline in the template, so a long
 * allowlist neither bloats the template towards CloudFormation's limit nor slows every
 * DescribeStackResource call that cfn-init and cfn-hup make.
 */
const INLINE_FILE_LIMIT = 32 * 1024;

/** Bumped whenever the on-instance set-up changes in a way the fingerprint inputs do not show. */
const HOST_SETUP_VERSION = 2;

/**
 * The port of the load balancer's health checks: the proxy port's neighbour. The instance
 * redirects it to Squid's listener past the connection cap, so an instance at its cap stays healthy.
 */
export function healthCheckPortFor(port: number): number {
  return port < 65535 ? port + 1 : port - 1;
}

/** Inputs of {@link buildProxyHostInit}. */
export interface ProxyHostInitOptions {
  /** The rendered Squid files, with their real paths (under /etc/squid). Contents may hold tokens. */
  readonly squidFiles: SquidConfigFile[];
  /** The proxy port. */
  readonly port: number;
  /** The port of the load balancer's health checks, redirected to the proxy port past the cap. */
  readonly healthCheckPort: number;
  /** Squid workers. */
  readonly workers: number;
  /** The file-descriptor limit of the Squid service (`LimitNOFILE`). */
  readonly maxFileDescriptors: number;
  /** Concurrent connections the instance accepts on the proxy port; more get a TCP reset. */
  readonly maxConnections: number;
  /** The log group the CloudWatch agent ships to. */
  readonly logGroupName: string;
  /** The resource that carries the metadata (the Auto Scaling group). */
  readonly resource: CfnResource;
}

/** What {@link buildProxyHostInit} returns. */
export interface ProxyHostInit {
  readonly init: ec2.CloudFormationInit;
  /**
   * A hash of everything on the instance that `reload` does not re-apply. It goes into the user
   * data, so a change to it rolls out new instances, while allowlist changes (in `stage`) do not.
   */
  readonly fingerprint: string;
  /** Squid files that travel as S3 assets (the instance role must read exactly these objects). */
  readonly assets: s3assets.Asset[];
}

/**
 * The CloudFormation::Init configuration of a proxy instance.
 *
 * Configs, in order: `packages` (Squid, OpenSSL, nftables, the CloudWatch agent), `setup` (the
 * control script and its settings, units, firewall rules, log rotation, cfn-hup, agent
 * configuration, bump certificate), `stage` (the Squid files under the staging directory and
 * their manifest), `apply` (install, parse-check, reload), `start` (the connection cap, then
 * Squid, waiting until it listens, then cfn-hup and the agent).
 *
 * Config sets: `install` runs all five at first boot; `reload` runs `stage` and `apply` whenever
 * cfn-hup sees the metadata change.
 */
export function buildProxyHostInit(scope: Construct, options: ProxyHostInitOptions): ProxyHostInit {
  const setupFiles = hostSetupFiles(options);
  const stage = stageSquidFiles(scope, options.squidFiles);
  const init = ec2.CloudFormationInit.fromConfigSets({
    configSets: {
      [INSTALL_CONFIG_SET]: ['packages', 'setup', 'stage', 'apply', 'start'],
      [RELOAD_CONFIG_SET]: ['stage', 'apply'],
    },
    configs: {
      packages: new ec2.InitConfig(HOST_PACKAGES.map((p) => ec2.InitPackage.yum(p))),
      setup: setupConfig(setupFiles),
      stage: stage.config,
      apply: new ec2.InitConfig([ec2.InitCommand.argvCommand([CONTROL_SCRIPT, 'apply'], { key: '10-apply' })]),
      start: startConfig(),
    },
  });
  // Everything `reload` does not re-apply. Tokens are resolved to their CloudFormation form so the
  // hash is stable from one synthesis to the next.
  const fingerprintInput = Stack.of(scope).resolve({
    version: HOST_SETUP_VERSION,
    packages: HOST_PACKAGES,
    files: setupFiles.map((f) => [f.path, f.content, f.mode]),
    start: START_COMMANDS,
    workers: options.workers,
  });
  const fingerprint = createHash('sha256').update(JSON.stringify(fingerprintInput)).digest('hex').slice(0, 16);
  return { init, fingerprint, assets: stage.assets };
}

/** A file the `setup` config writes. */
interface HostSetupFile {
  readonly path: string;
  readonly content: string;
  readonly mode: string;
}

/** The files of the `setup` config: the control script and its settings, units and configuration. */
function hostSetupFiles(options: ProxyHostInitOptions): HostSetupFile[] {
  const logicalId = options.resource.logicalId;
  const file = (path: string, content: string, mode = '000644'): HostSetupFile => ({ path, content, mode });
  const hostEnv = shellAssignments({
    SQUID_CONF,
    SQUID_GROUP,
    BUMP_CERT: BUMP_CERT_FILE,
    PROXY_PORT: options.port,
    EGRESS_PROXY_STATE_DIR: STATE_DIR,
    EGRESS_PROXY_STAGE_DIR: STAGE_DIR,
    EGRESS_PROXY_MANIFEST: MANIFEST_FILE,
  });
  return [
    file(CONTROL_SCRIPT, hostFile('egress-proxy.sh'), '000755'),
    file(HOST_ENV_FILE, `# Written by cdk-private-egress-proxy: settings of ${CONTROL_SCRIPT}.\n${hostEnv}\n`),
    file(
      FIREWALL_RULES_FILE,
      renderHostTemplate('firewall.nft', {
        proxyPort: options.port,
        healthCheckPort: options.healthCheckPort,
        maxConnections: options.maxConnections,
      }),
    ),
    file('/etc/systemd/system/egress-proxy-firewall.service', hostFile('egress-proxy-firewall.service')),
    file(
      '/etc/systemd/system/squid.service.d/egress-proxy.conf',
      renderHostTemplate('squid-service.conf', { limitNofile: options.maxFileDescriptors }),
    ),
    file(
      '/etc/logrotate.d/squid',
      renderHostTemplate('logrotate-squid', { logDirectory: SQUID_LOG_DIR, pidFile: SQUID_PID_FILE }),
    ),
    file(
      '/etc/cfn/cfn-hup.conf',
      renderHostTemplate('cfn-hup.conf', { stackId: Aws.STACK_ID, region: Aws.REGION }),
      '000400',
    ),
    file(
      '/etc/cfn/hooks.d/egress-proxy-reload.conf',
      renderHostTemplate('egress-proxy-reload.conf', {
        resource: logicalId,
        region: Aws.REGION,
        stackName: Aws.STACK_NAME,
        configSet: RELOAD_CONFIG_SET,
      }),
      '000400',
    ),
    file('/etc/systemd/system/cfn-hup.service', hostFile('cfn-hup.service')),
    file(
      CLOUDWATCH_AGENT_CONFIG,
      renderHostTemplate('amazon-cloudwatch-agent.json', {
        logDirectory: SQUID_LOG_DIR,
        logGroupName: options.logGroupName,
      }),
    ),
  ];
}

function setupConfig(files: HostSetupFile[]): ec2.InitConfig {
  return new ec2.InitConfig([
    ...files.map((f) => ec2.InitFile.fromString(f.path, f.content, { mode: f.mode })),
    ec2.InitCommand.argvCommand([CONTROL_SCRIPT, 'bump-cert'], { key: '10-bump-cert' }),
  ]);
}

/** The commands of the `start` config, by key (cfn-init runs them in key order). */
const START_COMMANDS: Record<string, string[]> = {
  '10-start-squid': [CONTROL_SCRIPT, 'start'],
  '20-start-cfn-hup': ['systemctl', 'enable', '--now', 'cfn-hup.service'],
  '30-start-cloudwatch-agent': [
    '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl',
    '-a',
    'fetch-config',
    '-m',
    'ec2',
    '-s',
    '-c',
    `file:${CLOUDWATCH_AGENT_CONFIG}`,
  ],
};

function startConfig(): ec2.InitConfig {
  return new ec2.InitConfig(
    Object.entries(START_COMMANDS).map(([key, argv]) => ec2.InitCommand.argvCommand(argv, { key })),
  );
}

/**
 * The `stage` config: every Squid file under {@link STAGE_DIR}, and the manifest `apply` reads.
 * Files above {@link INLINE_FILE_LIMIT} travel as S3 assets; cfn-init downloads them with the
 * instance role (the caller grants read on exactly these objects).
 */
function stageSquidFiles(
  scope: Construct,
  files: SquidConfigFile[],
): { config: ec2.InitConfig; assets: s3assets.Asset[] } {
  const config = new ec2.InitConfig([]);
  const assets: s3assets.Asset[] = [];
  for (const f of files) {
    const target = `${STAGE_DIR}${f.path}`;
    if (!Token.isUnresolved(f.content) && Buffer.byteLength(f.content) > INLINE_FILE_LIMIT) {
      const asset = fileAsset(scope, f);
      assets.push(asset);
      config.add(ec2.InitFile.fromUrl(target, asset.httpUrl, { mode: f.mode }));
    } else {
      config.add(ec2.InitFile.fromString(target, f.content, { mode: f.mode }));
    }
  }
  const manifest = files.map((f) => `${f.mode} ${f.path}`).join('\n') + '\n';
  config.add(ec2.InitFile.fromString(MANIFEST_FILE, manifest, { mode: '000644' }));
  return { config, assets };
}

/**
 * A rendered file as an S3 asset. It is written into a new private directory (mode 0700) for
 * each synthesis, never into a shared path another user could have filled first; the asset's
 * hash comes from the content.
 */
function fileAsset(scope: Construct, f: SquidConfigFile): s3assets.Asset {
  const base = f.path.slice(f.path.lastIndexOf('/') + 1);
  const file = join(mkdtempSync(join(tmpdir(), 'cdk-private-egress-proxy-')), base);
  writeFileSync(file, f.content, { mode: 0o644 });
  const id = `SquidFile-${base.replace(/[^A-Za-z0-9]/g, '-')}`;
  return new s3assets.Asset(scope, id, { path: file });
}

/** Inputs of {@link writeProxyUserData}. */
export interface ProxyUserDataOptions {
  /** The resource that carries the metadata and receives the signal (the Auto Scaling group). */
  readonly resource: CfnResource;
  /** The fingerprint of the instance set-up ({@link ProxyHostInit.fingerprint}). */
  readonly fingerprint: string;
}

/**
 * Fill in the user data (a Linux user data, `#!/bin/bash`): the first-boot script
 * (`assets/host/user-data.sh`) with the stack's values. It installs aws-cfn-bootstrap when the
 * image lacks it, runs the `install` config set, and signals the group with the result, a failure
 * with its reason.
 */
export function writeProxyUserData(userData: ec2.UserData, options: ProxyUserDataOptions): void {
  const script = scriptWithValues('user-data.sh', {
    EGRESS_PROXY_STACK: Aws.STACK_NAME,
    EGRESS_PROXY_REGION: Aws.REGION,
    EGRESS_PROXY_RESOURCE: options.resource.logicalId,
    EGRESS_PROXY_CONFIG_SETS: INSTALL_CONFIG_SET,
    EGRESS_PROXY_LAST_ERROR: LAST_ERROR_FILE,
    EGRESS_PROXY_HOST_SETUP: options.fingerprint,
  });
  // The Linux user data writes the same first line (#!/bin/bash) itself.
  const [, ...lines] = script.split('\n');
  userData.addCommands(...lines);
}
