import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aws, CfnResource, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { SquidConfigFile } from '../squid-config';

/**
 * Where the instance keeps its state. Everything below is written by CloudFormation::Init.
 *
 * Squid's own files are not written in place: cfn-init writes them under {@link STAGE_DIR}
 * (mirroring their real paths) and {@link CONTROL_SCRIPT} `apply` installs them, checks them with
 * `squid -k parse`, and reloads Squid, or puts the previous files back when the check fails.
 */
export const STATE_DIR = '/var/lib/egress-proxy';
export const STAGE_DIR = `${STATE_DIR}/staged`;
export const MANIFEST_FILE = `${STATE_DIR}/staged.manifest`;
export const CONTROL_SCRIPT = '/usr/local/sbin/egress-proxy';
export const SQUID_CONF = '/etc/squid/squid.conf';
export const SQUID_CONFIG_DIR = '/etc/squid';
export const SQUID_LOG_DIR = '/var/log/squid';
export const SQUID_PID_FILE = '/run/squid.pid';
export const BUMP_CERT_FILE = '/etc/squid/egress-bump.pem';
export const CLOUDWATCH_AGENT_CONFIG = '/opt/aws/amazon-cloudwatch-agent/etc/egress-proxy.json';

/** cfn-init config sets: `install` at first boot, `reload` from cfn-hup when the metadata changes. */
export const INSTALL_CONFIG_SET = 'install';
export const RELOAD_CONFIG_SET = 'reload';

/**
 * Files larger than this travel as S3 assets instead of inline in the template, so a long
 * allowlist neither bloats the template towards CloudFormation's limit nor slows every
 * DescribeStackResource call that cfn-init and cfn-hup make.
 */
export const INLINE_FILE_LIMIT = 32 * 1024;

/**
 * Bumped whenever the on-instance set-up changes in a way the fingerprint inputs do not show.
 */
const HOST_SETUP_VERSION = 1;

/**
 * The control script: `bump-cert` makes the throw-away certificate of the ssl-bump port, `apply`
 * installs the staged Squid files (parse-checked, rolled back on failure) and reloads Squid,
 * `start PORT` starts Squid and waits until it listens.
 */
export const CONTROL_SCRIPT_TEXT = `#!/bin/bash
# egress-proxy: installs and reloads the Squid configuration that CloudFormation::Init stages.
# Written by cdk-private-egress-proxy. Do not edit: instances are replaced when it changes.
set -euo pipefail
umask 022
SQUID=/usr/sbin/squid
CONF=${SQUID_CONF}
STATE=${STATE_DIR}
STAGE=${STAGE_DIR}
MANIFEST=${MANIFEST_FILE}
BUMP=${BUMP_CERT_FILE}
SQUID_GROUP=\${EGRESS_PROXY_SQUID_GROUP:-squid}

say() { echo "egress-proxy: $*" >&2; }

# The ssl-bump port needs a certificate although peek and splice never show it to anyone.
bump_cert() {
  if [ -s "$BUMP" ]; then return 0; fi
  local dir
  dir=$(mktemp -d)
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=egress-proxy-bump" \\
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
  cat "$dir/cert.pem" "$dir/key.pem" >"$dir/bump.pem"
  install -D -m 0640 -o root -g "$SQUID_GROUP" "$dir/bump.pem" "$BUMP"
  rm -rf "$dir"
  say "created the ssl-bump certificate $BUMP"
}

# Install the staged files, check them with 'squid -k parse', then reload Squid. When the check
# fails the previous files are put back: Squid never read the new ones and keeps serving.
apply() {
  mkdir -p "$STATE"
  exec 9>"$STATE/apply.lock"
  flock 9
  local backup out mode path f
  local created=()
  backup=$(mktemp -d "$STATE/previous.XXXXXX")
  while read -r mode path; do
    if [ -z "$path" ]; then continue; fi
    if [ -e "$path" ]; then
      mkdir -p "$backup$(dirname "$path")"
      cp -p "$path" "$backup$path"
    else
      created+=("$path")
    fi
    install -D -m "\${mode: -4}" "$STAGE$path" "$path"
  done <"$MANIFEST"
  if ! out=$("$SQUID" -k parse -f "$CONF" 2>&1); then
    say "squid -k parse rejected the new configuration; the previous one stays in service:"
    grep -E 'FATAL|ERROR|Bungled' <<<"$out" >&2 || true
    (cd "$backup" && find . -type f -print0 | while IFS= read -r -d '' f; do cp -p "$f" "/\${f#./}"; done)
    for f in "\${created[@]+"\${created[@]}"}"; do rm -f "$f"; done
    rm -rf "$backup"
    return 1
  fi
  rm -rf "$backup"
  if "$SQUID" -k check -f "$CONF" >/dev/null 2>&1; then
    "$SQUID" -k reconfigure -f "$CONF"
    say "configuration applied; Squid reconfigured"
  else
    say "configuration applied; Squid is not running yet"
  fi
}

# Start Squid (first boot) and wait until it accepts connections on the proxy port.
start() {
  local port=$1 i
  systemctl daemon-reload
  systemctl enable squid.service
  systemctl restart squid.service
  for i in $(seq 1 120); do
    if ss -Hltn "sport = :$port" | grep -q .; then
      say "Squid listens on port $port"
      return 0
    fi
    sleep 1
  done
  say "Squid is not listening on port $port after 120 seconds"
  systemctl status squid.service --no-pager >&2 || true
  return 1
}

case "\${1:-}" in
  apply) apply ;;
  bump-cert) bump_cert ;;
  start) start "\${2:?usage: egress-proxy start PORT}" ;;
  *)
    echo "usage: egress-proxy apply | bump-cert | start PORT" >&2
    exit 2
    ;;
esac
`;

/** Inputs of {@link buildProxyHostInit}. */
export interface ProxyHostInitOptions {
  /** The rendered Squid files, with their real paths (under /etc/squid). Contents may hold tokens. */
  readonly squidFiles: SquidConfigFile[];
  /** The proxy port. */
  readonly port: number;
  /** Squid workers. */
  readonly workers: number;
  /** The file-descriptor limit for the Squid service. */
  readonly maxFileDescriptors: number;
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
  /** Whether some Squid file travels as an S3 asset (read from the CDK asset bucket). */
  readonly usesAssets: boolean;
}

/**
 * The CloudFormation::Init configuration of a proxy instance.
 *
 * Configs, in order: `packages` (Squid, the CloudWatch agent), `setup` (control script, systemd
 * drop-in, log rotation, cfn-hup, agent configuration, bump certificate), `stage` (the Squid
 * files under the staging directory and their manifest), `apply` (install, parse-check, reload),
 * `start` (start Squid and wait until it listens, then cfn-hup and the agent).
 *
 * Config sets: `install` runs all five at first boot; `reload` runs `stage` and `apply` whenever
 * cfn-hup sees the metadata change.
 */
export function buildProxyHostInit(scope: Construct, options: ProxyHostInitOptions): ProxyHostInit {
  const stack = Stack.of(scope);
  const logicalId = options.resource.logicalId;

  const dropIn = [
    '# Written by cdk-private-egress-proxy.',
    '[Service]',
    '# Squid raises its own limit to max_filedescriptors only up to this one.',
    `LimitNOFILE=${options.maxFileDescriptors}`,
    '# Squid stops after shutdown_lifetime (the deregistration delay, at most 3600 s).',
    'TimeoutStopSec=3660',
    'Restart=on-failure',
    'RestartSec=5s',
    '',
  ].join('\n');

  const logrotate = [
    '# Written by cdk-private-egress-proxy. The CloudWatch agent ships these logs; keep a few days on disk.',
    `${SQUID_LOG_DIR}/*.log {`,
    '    daily',
    '    rotate 3',
    '    maxsize 512M',
    '    compress',
    '    delaycompress',
    '    missingok',
    '    notifempty',
    '    nocreate',
    '    sharedscripts',
    '    postrotate',
    `        /usr/sbin/squid -k rotate -f ${SQUID_CONF} 2>/dev/null || true`,
    '    endscript',
    '}',
    '',
  ].join('\n');

  const cfnHupConf = ['[main]', `stack=${Aws.STACK_ID}`, `region=${Aws.REGION}`, 'interval=1', ''].join('\n');
  const reloadCommand =
    `/opt/aws/bin/cfn-init -v --region ${Aws.REGION} --stack ${Aws.STACK_NAME} ` +
    `--resource ${logicalId} --configsets ${RELOAD_CONFIG_SET}`;
  const hook = [
    '[egress-proxy-reload]',
    'triggers=post.update',
    `path=Resources.${logicalId}.Metadata.AWS::CloudFormation::Init`,
    `action=${reloadCommand}`,
    'runas=root',
    '',
  ].join('\n');
  const cfnHupUnit = [
    '# Written by cdk-private-egress-proxy: cfn-hup applies allowlist changes without replacing the instance.',
    '[Unit]',
    'Description=CloudFormation helper daemon (cfn-hup)',
    'After=network-online.target',
    'Wants=network-online.target',
    '[Service]',
    'Type=forking',
    'PIDFile=/run/cfn-hup.pid',
    'ExecStart=/opt/aws/bin/cfn-hup',
    'Restart=always',
    'RestartSec=30s',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');

  const stream = (file: string, name: string) => ({
    file_path: file,
    log_group_name: options.logGroupName,
    log_stream_name: `{instance_id}/${name}`,
    timezone: 'UTC',
  });
  const agentConfig = {
    agent: {
      // Squid's logs are readable by root and the squid group only.
      run_as_user: 'root',
    },
    logs: {
      logs_collected: {
        files: {
          collect_list: [
            stream(`${SQUID_LOG_DIR}/access.log`, 'access.log'),
            stream(`${SQUID_LOG_DIR}/cache.log`, 'cache.log'),
            stream('/var/log/cfn-init.log', 'cfn-init.log'),
            stream('/var/log/cfn-init-cmd.log', 'cfn-init-cmd.log'),
            stream('/var/log/cfn-hup.log', 'cfn-hup.log'),
          ],
        },
      },
    },
  };

  const packages = new ec2.InitConfig([
    ec2.InitPackage.yum('squid'),
    ec2.InitPackage.yum('amazon-cloudwatch-agent'),
    ec2.InitPackage.yum('openssl'),
  ]);
  const setup = new ec2.InitConfig([
    ec2.InitFile.fromString(CONTROL_SCRIPT, CONTROL_SCRIPT_TEXT, { mode: '000755' }),
    ec2.InitFile.fromString('/etc/systemd/system/squid.service.d/egress-proxy.conf', dropIn),
    ec2.InitFile.fromString('/etc/logrotate.d/squid', logrotate),
    ec2.InitFile.fromString('/etc/cfn/cfn-hup.conf', cfnHupConf, { mode: '000400' }),
    ec2.InitFile.fromString('/etc/cfn/hooks.d/egress-proxy-reload.conf', hook, { mode: '000400' }),
    ec2.InitFile.fromString('/etc/systemd/system/cfn-hup.service', cfnHupUnit),
    ec2.InitFile.fromObject(CLOUDWATCH_AGENT_CONFIG, agentConfig),
    ec2.InitCommand.argvCommand([CONTROL_SCRIPT, 'bump-cert'], { key: '10-bump-cert' }),
  ]);

  const staged = new ec2.InitConfig([]);
  let usesAssets = false;
  for (const f of options.squidFiles) {
    const target = `${STAGE_DIR}${f.path}`;
    if (!Token.isUnresolved(f.content) && Buffer.byteLength(f.content) > INLINE_FILE_LIMIT) {
      staged.add(ec2.InitFile.fromExistingAsset(target, fileAsset(scope, f), { mode: f.mode }));
      usesAssets = true;
    } else {
      staged.add(ec2.InitFile.fromString(target, f.content, { mode: f.mode }));
    }
  }
  const manifest = options.squidFiles.map((f) => `${f.mode} ${f.path}`).join('\n') + '\n';
  staged.add(ec2.InitFile.fromString(MANIFEST_FILE, manifest, { mode: '000644' }));

  const apply = new ec2.InitConfig([ec2.InitCommand.argvCommand([CONTROL_SCRIPT, 'apply'], { key: '10-apply' })]);
  const start = new ec2.InitConfig([
    ec2.InitCommand.argvCommand([CONTROL_SCRIPT, 'start', String(options.port)], { key: '10-start-squid' }),
    ec2.InitCommand.shellCommand('systemctl daemon-reload && systemctl enable --now cfn-hup.service', {
      key: '20-start-cfn-hup',
    }),
    ec2.InitCommand.argvCommand(
      [
        '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl',
        '-a',
        'fetch-config',
        '-m',
        'ec2',
        '-s',
        '-c',
        `file:${CLOUDWATCH_AGENT_CONFIG}`,
      ],
      { key: '30-start-cloudwatch-agent' },
    ),
  ]);

  const init = ec2.CloudFormationInit.fromConfigSets({
    configSets: {
      [INSTALL_CONFIG_SET]: ['packages', 'setup', 'stage', 'apply', 'start'],
      [RELOAD_CONFIG_SET]: ['stage', 'apply'],
    },
    configs: { packages, setup, stage: staged, apply, start },
  });

  // Everything `reload` does not re-apply. Tokens are resolved to their CloudFormation form so the
  // hash is stable from one synthesis to the next.
  const fingerprintInput = stack.resolve({
    version: HOST_SETUP_VERSION,
    packages: ['squid', 'amazon-cloudwatch-agent', 'openssl'],
    script: CONTROL_SCRIPT_TEXT,
    dropIn,
    logrotate,
    cfnHupConf,
    hook,
    cfnHupUnit,
    agentConfig,
    port: options.port,
    workers: options.workers,
  });
  const fingerprint = createHash('sha256').update(JSON.stringify(fingerprintInput)).digest('hex').slice(0, 16);
  return { init, fingerprint, usesAssets };
}

/** A rendered file as an S3 asset, written once per content under the OS temporary directory. */
function fileAsset(scope: Construct, f: SquidConfigFile): s3assets.Asset {
  const hash = createHash('sha256').update(f.content).digest('hex');
  const base = f.path.slice(f.path.lastIndexOf('/') + 1);
  const dir = join(tmpdir(), 'cdk-private-egress-proxy', hash.slice(0, 32));
  const file = join(dir, base);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${file}.${process.pid}`, f.content);
    renameSync(`${file}.${process.pid}`, file);
  }
  const id = `SquidFile-${base.replace(/[^A-Za-z0-9]/g, '-')}`;
  return new s3assets.Asset(scope, id, { path: file });
}
