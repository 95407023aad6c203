import { readFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { App, Aspects, Duration, Fn, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, NagSuppressions } from 'cdk-nag';
import {
  EgressMode,
  EgressPolicy,
  EgressPolicyProps,
  EgressProxyProvider,
  EgressProxyProviderProps,
  SquidConfig,
} from '../src';
import { hostFile } from '../src/private/host-files';
import { sizeProxyInstance } from '../src/private/sizing';

const DOMAINS = ['sts.us-east-1.amazonaws.com', '.example.com', '*.wild.example.org'];
const STAGE = '/var/lib/egress-proxy/staged';

interface Synth {
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
  readonly provider: EgressProxyProvider;
  readonly template: Template;
}

/** A stack with a two-AZ VPC and one provider. */
function synth(
  props: Partial<EgressProxyProviderProps> = {},
  policy: EgressPolicyProps = { allowedDomains: DOMAINS },
): Synth {
  const app = new App();
  const stack = new Stack(app, 'Stack');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const provider = new EgressProxyProvider(stack, 'Proxy', { vpc, policy: new EgressPolicy(policy), ...props });
  return { stack, vpc, provider, template: Template.fromStack(stack) };
}

/** The one resource of a type, with its logical ID. */
function only(template: Template, type: string): { id: string; resource: any } {
  const found = Object.entries(template.findResources(type));
  expect(found).toHaveLength(1);
  return { id: found[0][0], resource: found[0][1] };
}

/** The AWS::CloudFormation::Init metadata on the Auto Scaling group. */
function initOf(template: Template): any {
  return only(template, 'AWS::AutoScaling::AutoScalingGroup').resource.Metadata['AWS::CloudFormation::Init'];
}

/** The files that a config of the init metadata writes. */
function filesOf(template: Template, config: string): Record<string, any> {
  return initOf(template)[config].files;
}

/**
 * The content of a file the init writes, as a string. A deploy-time value (squid.conf holds the
 * provider VPC's CIDR block, an Fn::GetAtt) appears as its CloudFormation JSON.
 */
function contentOf(template: Template, config: string, path: string): string {
  const file = filesOf(template, config)[path];
  expect(file).toBeDefined();
  if (typeof file.content === 'string') return file.content;
  const [separator, parts] = file.content['Fn::Join'];
  return parts.map((p: unknown) => (typeof p === 'string' ? p : JSON.stringify(p))).join(separator);
}

/** The error message of a construction (fails the test if it does not throw). */
function errorFor(props: Partial<EgressProxyProviderProps>, vpcProps?: ec2.VpcProps): string {
  const stack = new Stack(new App(), 'Stack');
  const vpc = new ec2.Vpc(stack, 'Vpc', vpcProps ?? { maxAzs: 2 });
  try {
    new EgressProxyProvider(stack, 'Proxy', { vpc, policy: new EgressPolicy({ allowedDomains: DOMAINS }), ...props });
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the construction to throw');
}

/**
 * CloudWatch Logs term matching for unstructured events, as the service applies it: every plain
 * term must occur in the line, no `-`-prefixed term may.
 */
function cloudWatchTermsMatch(pattern: string, line: string): boolean {
  const terms = [...pattern.matchAll(/(-?)(?:"([^"]*)"|(\S+))/g)].map((m) => ({
    exclude: m[1] === '-',
    text: m[2] ?? m[3],
  }));
  return terms.every((t) => line.includes(t.text) !== t.exclude);
}

describe('launch template and instances', () => {
  test('instances require IMDSv2 with a hop limit of 1', () => {
    synth().template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: { HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
      }),
    });
  });

  test('the group launches from a launch template, and no launch configuration is synthesized', () => {
    const { template } = synth();
    template.resourceCountIs('AWS::AutoScaling::LaunchConfiguration', 0);
    const lt = only(template, 'AWS::EC2::LaunchTemplate').id;
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      LaunchTemplate: { LaunchTemplateId: { Ref: lt }, Version: { 'Fn::GetAtt': [lt, 'LatestVersionNumber'] } },
    });
  });

  test('the root volume is encrypted gp3 and there is no key pair', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        BlockDeviceMappings: [
          { DeviceName: '/dev/xvda', Ebs: Match.objectLike({ Encrypted: true, VolumeType: 'gp3' }) },
        ],
        KeyName: Match.absent(),
      }),
    });
  });

  test('the default is c7gn.medium on the ARM64 Amazon Linux 2023 image from its public SSM parameter', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        InstanceType: 'c7gn.medium',
        ImageId: { Ref: Match.stringLikeRegexp('arm64') },
      }),
    });
    template.hasParameter('*', {
      Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
      Default: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64',
    });
  });

  test('an x86 instance type gets the x86_64 image', () => {
    const { template } = synth({ instanceType: new ec2.InstanceType('m7i.large') });
    template.hasParameter('*', { Default: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64' });
  });

  test('the role has Session Manager access and writes only to the proxy log group', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: [
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSSMManagedInstanceCore']] },
      ],
    });
    const logGroup = only(template, 'AWS::Logs::LogGroup').id;
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
          }),
        ]),
      },
    });
  });

  test('Squid runs one worker per vCPU of the instance type, and the service may open enough files', () => {
    const { template } = synth({ instanceType: new ec2.InstanceType('c7g.xlarge') });
    const conf = contentOf(template, 'stage', `${STAGE}/etc/squid/squid.conf`);
    expect(conf).toMatch(/^workers 4$/m);
    const maxFds = Number(/^max_filedescriptors (\d+)$/m.exec(conf)![1]);
    const dropIn = contentOf(template, 'setup', '/etc/systemd/system/squid.service.d/egress-proxy.conf');
    expect(Number(/^LimitNOFILE=(\d+)$/m.exec(dropIn)![1])).toBeGreaterThanOrEqual(maxFds);
  });
});

describe('CloudFormation::Init', () => {
  test('the staged files are exactly what SquidConfig renders, with PROXY protocol trusted from the load balancer subnets', () => {
    const { template, vpc, stack } = synth();
    const cidrs = vpc.privateSubnets.map((s) => s.ipv4CidrBlock);
    const expected = SquidConfig.render(new EgressPolicy({ allowedDomains: DOMAINS }), {
      port: 3128,
      vcpus: 1,
      maxFileDescriptors: sizeProxyInstance({ instanceType: 'c7gn.medium', workers: 1 }).maxFileDescriptors,
      proxyProtocolSources: cidrs,
      configDirectory: '/etc/squid',
      logDirectory: '/var/log/squid',
      pidFile: '/run/squid.pid',
      shutdownLifetime: Duration.seconds(60),
      providerVpcCidrs: [vpc.vpcCidrBlock],
    });
    for (const f of expected.files) {
      expect(filesOf(template, 'stage')[`${STAGE}${f.path}`]).toEqual(
        expect.objectContaining({ content: stack.resolve(f.content), mode: f.mode, owner: 'root', group: 'root' }),
      );
    }
    expect(contentOf(template, 'stage', `${STAGE}/etc/squid/squid.conf`)).toContain(
      `acl egress_ppv2_peers src ${cidrs.join(' ')}\nproxy_protocol_access allow egress_ppv2_peers\nproxy_protocol_access deny all`,
    );
  });

  test("squid.conf refuses the provider VPC's own CIDR block as a destination, resolved at deployment", () => {
    const { template, vpc, stack } = synth();
    const conf = contentOf(template, 'stage', `${STAGE}/etc/squid/squid.conf`);
    expect(conf).toContain(`acl egress_to_provider_vpc dst ${JSON.stringify(stack.resolve(vpc.vpcCidrBlock))}`);
    expect(conf).toMatch(/http_access .*egress_to_provider_vpc/);
  });

  test("a dual-stack VPC's IPv6 blocks and its secondary IPv4 blocks are refused too", () => {
    const stack = new Stack(new App(), 'Stack');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, ipProtocol: ec2.IpProtocol.DUAL_STACK });
    new ec2.CfnVPCCidrBlock(vpc, 'Secondary', { vpcId: vpc.vpcId, cidrBlock: '100.64.0.0/16' });
    new EgressProxyProvider(stack, 'Proxy', { vpc, policy: new EgressPolicy({ allowedDomains: DOMAINS }) });
    const conf = contentOf(Template.fromStack(stack), 'stage', `${STAGE}/etc/squid/squid.conf`);
    const acl = conf.split('\n').find((l) => l.startsWith('acl egress_to_provider_vpc dst '))!;
    expect(acl).toContain(JSON.stringify(stack.resolve(vpc.vpcCidrBlock)));
    expect(acl).toContain('100.64.0.0/16');
    expect(acl).toContain(JSON.stringify(stack.resolve(vpc.vpcIpv6CidrBlocks)));
  });

  test('an imported VPC without its CIDR block warns that its own addresses are not refused by address', () => {
    const stack = new Stack(new App(), 'Stack');
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
      vpcId: 'vpc-1',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      privateSubnetIds: ['subnet-1', 'subnet-2'],
      privateSubnetIpv4CidrBlocks: ['10.0.1.0/24', '10.0.2.0/24'],
    });
    new EgressProxyProvider(stack, 'Proxy', { vpc, policy: new EgressPolicy({ allowedDomains: DOMAINS }) });
    Annotations.fromStack(stack).hasWarning('/Stack/Proxy', Match.stringLikeRegexp('imported without its CIDR block'));
  });

  test('the staged allowlist holds the policy domains', () => {
    const { template } = synth();
    const allowlist = contentOf(template, 'stage', `${STAGE}/etc/squid/egress-allowed-domains.txt`).trim().split('\n');
    expect(allowlist).toEqual(new EgressPolicy({ allowedDomains: DOMAINS }).domains);
  });

  test('the manifest lists every staged Squid file with its mode', () => {
    const { template } = synth();
    const manifest = contentOf(template, 'stage', '/var/lib/egress-proxy/staged.manifest').trim().split('\n');
    const staged = Object.keys(filesOf(template, 'stage')).filter((p) => p.startsWith(`${STAGE}/`));
    expect(manifest.map((l) => l.split(' ')[1]).sort()).toEqual(staged.map((p) => p.slice(STAGE.length)).sort());
    expect(manifest).toContain('000755 /etc/squid/egress-refuse-rewriter');
  });

  test('first boot installs, stages, applies and starts; a reload only stages and applies', () => {
    const init = initOf(synth().template);
    expect(init.configSets).toEqual({
      install: ['packages', 'setup', 'stage', 'apply', 'start'],
      reload: ['stage', 'apply'],
    });
    expect(Object.keys(init.packages.packages.yum).sort()).toEqual([
      'amazon-cloudwatch-agent',
      'nftables',
      'openssl',
      'squid',
    ]);
    expect(init.apply.commands['10-apply'].command).toEqual(['/usr/local/sbin/egress-proxy', 'apply']);
    expect(init.start.commands['10-start-squid'].command).toEqual(['/usr/local/sbin/egress-proxy', 'start']);
    expect(init.setup.commands['10-bump-cert'].command).toEqual(['/usr/local/sbin/egress-proxy', 'bump-cert']);
  });

  test("the user data is the first-boot script with the stack's values: install config set, then the signal", () => {
    const { template } = synth();
    const asg = only(template, 'AWS::AutoScaling::AutoScalingGroup').resource;
    const asgId = only(template, 'AWS::AutoScaling::AutoScalingGroup').id;
    const parts: unknown[] = only(template, 'AWS::EC2::LaunchTemplate').resource.Properties.LaunchTemplateData.UserData[
      'Fn::Base64'
    ]['Fn::Join'][1];
    const text = parts.map((p) => (typeof p === 'string' ? p : `<${JSON.stringify(p)}>`)).join('');
    const [shebang, ...body] = hostFile('user-data.sh').split('\n');
    expect(text.startsWith(`${shebang}\nEGRESS_PROXY_STACK='<{"Ref":"AWS::StackName"}>'\n`)).toBe(true);
    expect(text).toContain(`EGRESS_PROXY_RESOURCE='${asgId}'\nEGRESS_PROXY_CONFIG_SETS='install'\n`);
    expect(text).toContain("EGRESS_PROXY_LAST_ERROR='/var/lib/egress-proxy/last-error'");
    expect(text.endsWith(body.join('\n'))).toBe(true);
    expect(asg.Metadata['AWS::CloudFormation::Init'].configSets.install).toBeDefined();
  });

  test('the apply step parse-checks before reconfiguring and rolls back a rejected configuration', () => {
    const script = contentOf(synth().template, 'setup', '/usr/local/sbin/egress-proxy');
    expect(script).toBe(hostFile('egress-proxy.sh'));
    const parse = script.indexOf('-k parse -f "$SQUID_CONF"');
    const reconfigure = script.indexOf('-k reconfigure -f "$SQUID_CONF"');
    expect(parse).toBeGreaterThan(0);
    expect(reconfigure).toBeGreaterThan(parse);
    expect(script).toMatch(/previous one stays in service/);
  });

  test("the control script's settings are written beside it, and it reads them from there", () => {
    const env = contentOf(synth().template, 'setup', '/etc/egress-proxy/host.env');
    expect(env).toContain("SQUID_GROUP='squid'\n");
    expect(env).toContain("PROXY_PORT='3128'\n");
    expect(hostFile('egress-proxy.sh')).toContain('\n. /etc/egress-proxy/host.env\n');
  });

  test('the cfn-hup unit is the one AWS documents: Type=simple, never forking', () => {
    const unit = contentOf(synth().template, 'setup', '/etc/systemd/system/cfn-hup.service');
    expect(unit).toMatch(/^Type=simple$/m);
    expect(unit).toMatch(/^ExecStart=\/opt\/aws\/bin\/cfn-hup$/m);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).not.toMatch(/^Type=forking|^PIDFile=/m);
  });

  test('cfn-hup watches the init metadata and re-runs the reload config set', () => {
    const { template } = synth();
    const asg = only(template, 'AWS::AutoScaling::AutoScalingGroup').id;
    const hook = filesOf(template, 'setup')['/etc/cfn/hooks.d/egress-proxy-reload.conf'];
    const text = JSON.stringify(hook.content);
    expect(text).toContain('triggers=post.update');
    expect(text).toContain(`path=Resources.${asg}.Metadata.AWS::CloudFormation::Init`);
    expect(text).toContain(`--resource ${asg} --configsets reload`);
    expect(JSON.stringify(filesOf(template, 'setup')['/etc/cfn/cfn-hup.conf'].content)).toContain('interval=1');
    expect(initOf(template).start.commands['20-start-cfn-hup'].command).toEqual([
      'systemctl',
      'enable',
      '--now',
      'cfn-hup.service',
    ]);
  });

  test('the CloudWatch agent ships the access and cache logs to the log group', () => {
    const { template } = synth();
    const logGroup = only(template, 'AWS::Logs::LogGroup').id;
    const parts: unknown[] = filesOf(template, 'setup')['/opt/aws/amazon-cloudwatch-agent/etc/egress-proxy.json']
      .content['Fn::Join'][1];
    // The log group's name is a token: put a stand-in in its place and read the JSON.
    const config = JSON.parse(
      parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p).replace(/"/g, "'"))).join(''),
    );
    const files = config.logs.logs_collected.files.collect_list;
    for (const path of ['/var/log/squid/access.log', '/var/log/squid/cache.log']) {
      expect(files).toContainEqual(
        expect.objectContaining({ file_path: path, log_group_name: `{'Ref':'${logGroup}'}` }),
      );
    }
  });

  test('logrotate reopens Squid logs instead of letting Squid rotate them', () => {
    const rotate = contentOf(synth().template, 'setup', '/etc/logrotate.d/squid');
    expect(rotate).toContain('/var/log/squid/*.log');
    expect(rotate).toContain('squid -k rotate');
  });

  test('Squid shutdown_lifetime follows the deregistration delay', () => {
    const { template } = synth({ deregistrationDelay: Duration.seconds(120) });
    expect(contentOf(template, 'stage', `${STAGE}/etc/squid/squid.conf`)).toMatch(/^shutdown_lifetime 120 seconds$/m);
  });
});

describe('sizing by memory', () => {
  const capOf = (template: Template) =>
    Number(
      /ct count over (\d+) reject with tcp reset/.exec(
        contentOf(template, 'setup', '/etc/egress-proxy/firewall.nft'),
      )![1],
    );
  const limitsOf = (template: Template) => ({
    maxFileDescriptors: Number(
      /^max_filedescriptors (\d+)$/m.exec(contentOf(template, 'stage', `${STAGE}/etc/squid/squid.conf`))![1],
    ),
    limitNofile: Number(
      /^LimitNOFILE=(\d+)$/m.exec(
        contentOf(template, 'setup', '/etc/systemd/system/squid.service.d/egress-proxy.conf'),
      )![1],
    ),
  });

  test('c7gn.medium (2 GiB) accepts the tunnels that fit in its memory once they carried data, and Squid may open their descriptors', () => {
    const { template, stack } = synth();
    expect(capOf(template)).toBe(6553);
    expect(limitsOf(template)).toEqual({ maxFileDescriptors: 21504, limitNofile: 21504 });
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('tunnel'))).toEqual([]);
  });

  test("a larger instance accepts more tunnels, at most an NLB target's 55,000, spread over its workers", () => {
    expect(capOf(synth({ instanceType: new ec2.InstanceType('c7gn.xlarge') }).template)).toBe(33052);
    const big = synth({ instanceType: new ec2.InstanceType('m7g.16xlarge') }).template;
    expect(capOf(big)).toBe(55000);
    expect(contentOf(big, 'stage', `${STAGE}/etc/squid/squid.conf`)).toMatch(/^workers 64$/m);
    expect(limitsOf(big).maxFileDescriptors * 64).toBeGreaterThanOrEqual(2 * 55000);
  });

  test("metal sizes get their family's vCPUs and memory", () => {
    const { template } = synth({ instanceType: new ec2.InstanceType('c7g.metal') });
    expect(contentOf(template, 'stage', `${STAGE}/etc/squid/squid.conf`)).toMatch(/^workers 64$/m);
    expect(capOf(template)).toBe(55000);
  });

  test('maxConnectionsPerInstance sets the cap and the descriptor limits follow it', () => {
    const { template } = synth({ maxConnectionsPerInstance: 1000 });
    expect(capOf(template)).toBe(1000);
    expect(limitsOf(template)).toEqual({ maxFileDescriptors: 4096, limitNofile: 4096 });
  });

  test('an instance type too small for a useful cap warns at synth', () => {
    const { stack } = synth({ instanceType: new ec2.InstanceType('t4g.nano') });
    Annotations.fromStack(stack).hasWarning(
      '/Stack/Proxy',
      Match.stringLikeRegexp('Instance type t4g.nano \\(0.5 GiB\\) holds only about 0 active tunnels'),
    );
  });

  test('an instance type the memory table does not know warns and is sized as 2 GiB per worker', () => {
    const { stack, template } = synth({ instanceType: new ec2.InstanceType('g5.xlarge') });
    Annotations.fromStack(stack).hasWarning(
      '/Stack/Proxy',
      Match.stringLikeRegexp(
        'memory of instance type g5.xlarge is not in this library.s table: .* as if it had 8 GiB .*Set maxConnectionsPerInstance',
      ),
    );
    expect(contentOf(template, 'stage', `${STAGE}/etc/squid/squid.conf`)).toMatch(/^workers 4$/m);
    expect(capOf(template)).toBe(33052);
  });

  test('an instance type with more than 64 vCPUs runs 64 workers by default', () => {
    const { template } = synth({ instanceType: new ec2.InstanceType('c6a.metal') });
    expect(contentOf(template, 'stage', `${STAGE}/etc/squid/squid.conf`)).toMatch(/^workers 64$/m);
  });

  test('a cap above what the memory holds warns that the kernel may kill Squid', () => {
    const { stack } = synth({ maxConnectionsPerInstance: 20_000 });
    Annotations.fromStack(stack).hasWarning(
      '/Stack/Proxy',
      Match.stringLikeRegexp('maxConnectionsPerInstance 20000 exceeds the about 6553 active tunnels c7gn.medium holds'),
    );
  });

  test.each([0, 1.5, 55_001])('maxConnectionsPerInstance %p fails clearly', (n) => {
    expect(errorFor({ maxConnectionsPerInstance: n })).toMatch(
      new RegExp(`^Invalid maxConnectionsPerInstance ${n}: expected a whole number from 1 to 55000`),
    );
  });
});

describe('custom DNS servers', () => {
  test('Squid resolves with them, and the instances reach them on 53/UDP and 53/TCP only', () => {
    const { template } = synth({ dnsServers: ['10.0.0.2', 'fd00::53'] });
    expect(contentOf(template, 'stage', `${STAGE}/etc/squid/squid.conf`)).toMatch(
      /^dns_nameservers 10\.0\.0\.2 fd00::53$/m,
    );
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Egress proxy instances'),
      SecurityGroupEgress: Match.arrayWith([
        Match.objectLike({ CidrIp: '10.0.0.2/32', IpProtocol: 'udp', FromPort: 53, ToPort: 53 }),
        Match.objectLike({ CidrIp: '10.0.0.2/32', IpProtocol: 'tcp', FromPort: 53, ToPort: 53 }),
        Match.objectLike({ CidrIpv6: 'fd00::53/128', IpProtocol: 'udp', FromPort: 53, ToPort: 53 }),
        Match.objectLike({ CidrIpv6: 'fd00::53/128', IpProtocol: 'tcp', FromPort: 53, ToPort: 53 }),
      ]),
    });
  });

  test('without them, Squid uses the VPC resolver and no DNS rule is added', () => {
    const { template } = synth();
    expect(contentOf(template, 'stage', `${STAGE}/etc/squid/squid.conf`)).not.toContain('dns_nameservers');
    expect(JSON.stringify(template.toJSON())).not.toMatch(/"FromPort":53/);
  });

  test.each([
    [['dns.example.com'], /Invalid dnsServers entry 'dns.example.com': expected an IPv4 or IPv6 address/],
    [[], /Invalid dnsServers \[\]: give at least one DNS server address/],
  ])('%j fails clearly', (dnsServers, message) => {
    expect(errorFor({ dnsServers: dnsServers as string[] })).toMatch(message);
  });
});

describe('reload in place versus replacement', () => {
  const launchTemplate = (s: Synth) => only(s.template, 'AWS::EC2::LaunchTemplate').resource;

  test('changing only the allowlist changes the init metadata but not the launch template', () => {
    const a = synth({}, { allowedDomains: DOMAINS });
    const b = synth(
      {},
      { allowedDomains: [...DOMAINS, 'new.example.net'], ports: [443, 8443], mode: EgressMode.AUDIT },
    );
    expect(launchTemplate(b)).toEqual(launchTemplate(a));
    expect(initOf(b.template).stage).not.toEqual(initOf(a.template).stage);
    expect(initOf(b.template).setup).toEqual(initOf(a.template).setup);
  });

  test('a large allowlist moved to S3 still leaves the launch template alone when it changes', () => {
    const big = (n: number) => Array.from({ length: 3000 }, (_, i) => `host-${i}.team-${n}.example.com`);
    const a = synth({}, { allowedDomains: big(1) });
    const b = synth({}, { allowedDomains: big(2) });
    expect(launchTemplate(b)).toEqual(launchTemplate(a));
    expect(initOf(b.template).stage).not.toEqual(initOf(a.template).stage);
  });

  test('changing the port or the workers replaces instances (the user data changes)', () => {
    const base = launchTemplate(synth()).Properties.LaunchTemplateData.UserData;
    expect(launchTemplate(synth({ port: 8080 })).Properties.LaunchTemplateData.UserData).not.toEqual(base);
    expect(launchTemplate(synth({ squidWorkers: 2 })).Properties.LaunchTemplateData.UserData).not.toEqual(base);
  });
});

/** The launch template's user data in bytes, at most: each token resolves to a Region (< 20 bytes) or a stack name (at most 128 bytes). */
function userDataBytes(template: Template): number {
  const join = only(template, 'AWS::EC2::LaunchTemplate').resource.Properties.LaunchTemplateData.UserData['Fn::Base64'][
    'Fn::Join'
  ][1];
  return join.reduce((n: number, part: unknown) => n + (typeof part === 'string' ? Buffer.byteLength(part) : 128), 0);
}

describe('a 10,000-domain policy', () => {
  const domains = Array.from({ length: 10_000 }, (_, i) => `service-${i}.team-${i % 97}.example-corp.com`);
  let s: Synth;
  beforeAll(() => {
    s = synth({}, { allowedDomains: domains });
  });

  test("keeps the user data far under EC2's 16 KB limit", () => {
    const bytes = userDataBytes(s.template);
    expect(bytes).toBeLessThan(16 * 1024);
    expect(bytes).toBeLessThan(4 * 1024);
  });

  test("keeps the template far under CloudFormation's size limit", () => {
    const bytes = Buffer.byteLength(JSON.stringify(s.template.toJSON()));
    expect(bytes).toBeLessThan(1_000_000);
    expect(bytes).toBeLessThan(51_200 * 2);
  });

  test('ships the allowlist as an S3 asset that cfn-init downloads with the instance role', () => {
    const file = filesOf(s.template, 'stage')[`${STAGE}/etc/squid/egress-allowed-domains.txt`];
    expect(file.content).toBeUndefined();
    expect(JSON.stringify(file.source)).toMatch(/\.txt/);
    const { id: roleId } = only(s.template, 'AWS::IAM::Role');
    const auth = only(s.template, 'AWS::AutoScaling::AutoScalingGroup').resource.Metadata[
      'AWS::CloudFormation::Authentication'
    ];
    expect(auth).toEqual({
      EgressProxyAssets: { type: 'S3', roleName: { Ref: roleId }, buckets: [expect.anything()] },
    });
  });

  test('the instance role reads exactly the allowlist object, nothing else in the asset bucket', () => {
    const statements = only(s.template, 'AWS::IAM::Policy').resource.Properties.PolicyDocument.Statement;
    const s3 = statements.filter((st: any) => JSON.stringify(st.Action).includes('s3:'));
    expect(s3).toHaveLength(1);
    expect(s3[0].Action).toBe('s3:GetObject');
    const key = /([0-9a-f]{64}\.txt)/.exec(
      JSON.stringify(filesOf(s.template, 'stage')[`${STAGE}/etc/squid/egress-allowed-domains.txt`].source),
    )![1];
    expect(JSON.stringify(s3[0].Resource)).toMatch(new RegExp(`"cdk-hnb659fds-assets-[^"]*"},"/${key}"`));
    expect(JSON.stringify(s3[0].Resource)).not.toContain('*');
  });

  test("the group comes after the role's policy: a new allowlist object is readable before the metadata names it", () => {
    const { id: policyId } = only(s.template, 'AWS::IAM::Policy');
    expect(only(s.template, 'AWS::AutoScaling::AutoScalingGroup').resource.DependsOn).toContain(policyId);
  });

  test('the asset in the cloud assembly is the rendered allowlist', () => {
    const dir = (s.stack.node.root as App).synth().directory;
    const manifest = JSON.parse(readFileSync(joinPath(dir, `${s.stack.artifactId}.assets.json`), 'utf8'));
    const txt = Object.entries<any>(manifest.files).filter(([, f]) => /\.txt$/.test(f.source.path));
    expect(txt).toHaveLength(1);
    const [hash, asset] = txt[0];
    const content = readFileSync(joinPath(dir, asset.source.path), 'utf8');
    const rendered = SquidConfig.render(new EgressPolicy({ allowedDomains: domains })).files.find((f) =>
      f.path.endsWith('/egress-allowed-domains.txt'),
    )!;
    expect(content).toBe(rendered.content);
    const source = JSON.stringify(filesOf(s.template, 'stage')[`${STAGE}/etc/squid/egress-allowed-domains.txt`].source);
    expect(source).toContain(`${hash}.txt`);
  });

  test('renders a squid.conf that references the downloaded allowlist', () => {
    expect(contentOf(s.template, 'stage', `${STAGE}/etc/squid/squid.conf`)).toContain(
      'acl egress_allowed_domains dstdomain -n "/etc/squid/egress-allowed-domains.txt"',
    );
  });
});

describe('a shared hub: 200 consumers with 100 destinations each', () => {
  const consumers = Array.from({ length: 200 }, (_, c) => ({
    name: `team-${c + 1}`,
    endpointIds: [`vpce-${(c + 1).toString(16).padStart(17, '0')}`],
    allowedDomains: Array.from({ length: 100 }, (__, d) => `service-${d}.team-${c + 1}.example-corp.com`),
  }));
  let s: Synth;
  beforeAll(() => {
    s = synth({}, { allowedDomains: DOMAINS, consumers });
  });

  test("keeps the user data under EC2's 16 KB limit and the template under CloudFormation's 1 MB", () => {
    const userData = userDataBytes(s.template);
    expect(userData).toBeLessThan(16 * 1024);
    expect(userData).toBeLessThan(4 * 1024);
    const bytes = Buffer.byteLength(JSON.stringify(s.template.toJSON()));
    expect(bytes).toBeLessThan(1_000_000);
    expect(bytes).toBeLessThan(200_000);
  });

  test("ships the consumers' file (about 1 MB) as one S3 asset the instance role alone may read", () => {
    const file = filesOf(s.template, 'stage')[`${STAGE}/etc/squid/egress-consumers.conf`];
    expect(file.content).toBeUndefined();
    const key = /([0-9a-f]{64}\.conf)/.exec(JSON.stringify(file.source))![1];
    const statements = only(s.template, 'AWS::IAM::Policy').resource.Properties.PolicyDocument.Statement;
    const s3 = statements.filter((st: any) => JSON.stringify(st.Action).includes('s3:'));
    expect(s3).toHaveLength(1);
    expect(JSON.stringify(s3[0].Resource)).toContain(key);
    expect(JSON.stringify(s3[0].Resource)).not.toContain('*');
  });

  test("changing one consumer's list reloads in place: the launch template stays, the staged metadata changes", () => {
    const changed = consumers.map((c, i) =>
      i === 41 ? { ...c, allowedDomains: [...c.allowedDomains, 'new.example.net'] } : c,
    );
    const b = synth({}, { allowedDomains: DOMAINS, consumers: changed });
    const lt = (x: Synth) => only(x.template, 'AWS::EC2::LaunchTemplate').resource;
    expect(lt(b)).toEqual(lt(s));
    expect(initOf(b.template).stage).not.toEqual(initOf(s.template).stage);
  });
});

describe('creation, updates and scaling', () => {
  test("the group is created only after the subnets' route to the internet (NAT gateway) exists", () => {
    const { template } = synth();
    const asg = only(template, 'AWS::AutoScaling::AutoScalingGroup').resource;
    const routes = Object.keys(template.findResources('AWS::EC2::Route')).filter((id) =>
      /Private.*DefaultRoute/.test(id),
    );
    expect(routes).toHaveLength(2);
    expect(asg.DependsOn).toEqual(expect.arrayContaining(routes));
    // The dependency is the group's own: its scaling policy need not wait.
    const policy = only(template, 'AWS::AutoScaling::ScalingPolicy').resource;
    expect(policy.DependsOn ?? []).not.toEqual(expect.arrayContaining(routes));
  });

  test('creation waits for a signal from every instance', () => {
    synth().template.hasResource('AWS::AutoScaling::AutoScalingGroup', {
      CreationPolicy: { ResourceSignal: { Count: 2, Timeout: 'PT15M' } },
    });
  });

  test('a rolling update replaces one instance at a time, keeping capacity and waiting for signals', () => {
    synth().template.hasResource('AWS::AutoScaling::AutoScalingGroup', {
      UpdatePolicy: Match.objectLike({
        AutoScalingRollingUpdate: Match.objectLike({
          MaxBatchSize: 1,
          MinInstancesInService: 2,
          WaitOnResourceSignals: true,
          PauseTime: 'PT15M',
        }),
      }),
    });
  });

  test('capacity defaults to 2 to 4 instances with ELB health checks', () => {
    synth().template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: '2',
      MaxSize: '4',
      DesiredCapacity: Match.absent(),
      HealthCheckType: 'ELB',
    });
  });

  test('target tracking keeps average CPU at 50%', () => {
    synth().template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingConfiguration: {
        PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' },
        TargetValue: 50,
      },
    });
  });

  test('a group with no room above its desired capacity warns that rolling updates dip', () => {
    const { stack } = synth({ minCapacity: 2, maxCapacity: 2 });
    Annotations.fromStack(stack).hasWarning(
      '/Stack/Proxy',
      Match.stringLikeRegexp('rolling updates will run with 1 instance'),
    );
  });
});

describe('load balancer', () => {
  test('is an internal network load balancer with a security group', () => {
    const { template } = synth();
    const sg = Object.keys(
      template.findResources('AWS::EC2::SecurityGroup', {
        Properties: { GroupDescription: Match.stringLikeRegexp('^Egress proxy load balancer') },
      }),
    );
    expect(sg).toHaveLength(1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Type: 'network',
      Scheme: 'internal',
      SecurityGroups: [{ 'Fn::GetAtt': [sg[0], 'GroupId'] }],
      EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: 'off',
    });
  });

  test('has cross-zone load balancing on', () => {
    synth().template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'load_balancing.cross_zone.enabled', Value: 'true' }]),
    });
  });

  test('listens on TCP 3128 with the idle timeout', () => {
    synth({ idleTimeout: Duration.seconds(900) }).template.hasResourceProperties(
      'AWS::ElasticLoadBalancingV2::Listener',
      {
        Port: 3128,
        Protocol: 'TCP',
        ListenerAttributes: [{ Key: 'tcp.idle_timeout.seconds', Value: '900' }],
      },
    );
  });

  test('sends PROXY protocol v2 and does not preserve the client IP', () => {
    synth().template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetGroupAttributes: Match.arrayWith([
        { Key: 'proxy_protocol_v2.enabled', Value: 'true' },
        { Key: 'preserve_client_ip.enabled', Value: 'false' },
      ]),
    });
  });

  test('PROXY protocol can be turned off, on the target group and in squid.conf', () => {
    const { template } = synth({ proxyProtocol: false });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetGroupAttributes: Match.arrayWith([{ Key: 'proxy_protocol_v2.enabled', Value: 'false' }]),
    });
    const conf = contentOf(template, 'stage', `${STAGE}/etc/squid/squid.conf`);
    expect(conf).not.toContain('require-proxy-header');
    expect(conf).not.toContain('proxy_protocol_access');
  });

  test('checks instance health over TCP on the port after the proxy port, which reaches Squid past the cap', () => {
    synth().template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Protocol: 'TCP',
      Port: 3128,
      TargetType: 'instance',
      HealthCheckProtocol: 'TCP',
      HealthCheckPort: '3129',
    });
    synth({ port: 65535 }).template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      HealthCheckPort: '65534',
    });
  });

  test('deregisters instances after the deregistration delay', () => {
    synth({ deregistrationDelay: Duration.seconds(90) }).template.hasResourceProperties(
      'AWS::ElasticLoadBalancingV2::TargetGroup',
      {
        TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '90' }]),
      },
    );
  });

  test('PROXY protocol trust uses the subnet CIDR token of an imported VPC', () => {
    const stack = new Stack(new App(), 'Stack');
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
      vpcId: 'vpc-12345678',
      availabilityZones: ['us-east-1a', 'us-east-1b'],
      privateSubnetIds: ['subnet-aaaaaaaa', 'subnet-bbbbbbbb'],
      privateSubnetIpv4CidrBlocks: [Fn.importValue('SubnetACidr'), '10.9.64.0/18'],
    });
    new EgressProxyProvider(stack, 'Proxy', { vpc, policy: new EgressPolicy({ allowedDomains: DOMAINS }) });
    const conf = filesOf(Template.fromStack(stack), 'stage')[`${STAGE}/etc/squid/squid.conf`].content;
    const join = conf['Fn::Join'][1];
    const at = join.findIndex(
      (p: unknown) => JSON.stringify(p) === JSON.stringify({ 'Fn::ImportValue': 'SubnetACidr' }),
    );
    expect(at).toBeGreaterThan(0);
    expect(join[at - 1]).toMatch(/acl egress_ppv2_peers src $/);
    expect(join[at + 1]).toMatch(/^ 10\.9\.64\.0\/18\n/);
    // No placeholder address in the PROXY protocol trust (the policy's denied ranges list 192.0.2.0/24).
    expect(join[at + 1].split('\n')[0]).not.toContain('192.0.2.');
    expect(join[at - 1]).not.toContain('192.0.2.');
  });
});

describe('security groups', () => {
  test('the instances admit the proxy and health-check ports only from the load balancer security group', () => {
    const { template } = synth();
    const groups = template.findResources('AWS::EC2::SecurityGroup');
    const lbSg = Object.keys(groups).find((k) =>
      /^Egress proxy load balancer/.test(groups[k].Properties.GroupDescription),
    )!;
    const instanceSg = Object.keys(groups).find((k) =>
      /^Egress proxy instances/.test(groups[k].Properties.GroupDescription),
    )!;
    const ingress = template.findResources('AWS::EC2::SecurityGroupIngress');
    expect(Object.values(ingress).map((r: any) => r.Properties)).toEqual(
      [3128, 3129].map((port) =>
        expect.objectContaining({
          GroupId: { 'Fn::GetAtt': [instanceSg, 'GroupId'] },
          SourceSecurityGroupId: { 'Fn::GetAtt': [lbSg, 'GroupId'] },
          IpProtocol: 'tcp',
          FromPort: port,
          ToPort: port,
        }),
      ),
    );
    expect(groups[instanceSg].Properties.SecurityGroupIngress).toBeUndefined();
  });

  test('nothing admits traffic from 0.0.0.0/0 or ::/0', () => {
    const json = Template.fromJSON(synth().template.toJSON());
    for (const sg of Object.values(json.findResources('AWS::EC2::SecurityGroup'))) {
      for (const rule of sg.Properties.SecurityGroupIngress ?? []) {
        expect([rule.CidrIp, rule.CidrIpv6]).not.toContain('0.0.0.0/0');
        expect([rule.CidrIp, rule.CidrIpv6]).not.toContain('::/0');
      }
    }
    for (const rule of Object.values(json.findResources('AWS::EC2::SecurityGroupIngress'))) {
      expect(rule.Properties.CidrIp).toBeUndefined();
      expect(rule.Properties.CidrIpv6).toBeUndefined();
    }
  });

  test('the instances reach out only on the policy ports and HTTPS', () => {
    const { template } = synth({}, { allowedDomains: DOMAINS, ports: [8443] });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Egress proxy instances'),
      SecurityGroupEgress: [
        Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 }),
        Match.objectLike({ CidrIpv6: '::/0', FromPort: 443, ToPort: 443 }),
        Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 8443, ToPort: 8443 }),
        Match.objectLike({ CidrIpv6: '::/0', FromPort: 8443, ToPort: 8443 }),
      ],
    });
  });

  test('connections opens the load balancer to in-VPC clients on the proxy port', () => {
    const stack = new Stack(new App(), 'Stack');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
    const provider = new EgressProxyProvider(stack, 'Proxy', {
      vpc,
      policy: new EgressPolicy({ allowedDomains: DOMAINS }),
    });
    provider.connections.allowDefaultPortFrom(ec2.Peer.ipv4('10.20.0.0/16'));
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Egress proxy load balancer'),
      SecurityGroupIngress: [Match.objectLike({ CidrIp: '10.20.0.0/16', FromPort: 3128, ToPort: 3128 })],
    });
  });
});

describe('endpoint service', () => {
  test('requires acceptance and allows only this account by default', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::EC2::VPCEndpointService', { AcceptanceRequired: true });
    template.hasResourceProperties('AWS::EC2::VPCEndpointServicePermissions', {
      AllowedPrincipals: [
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] },
      ],
    });
  });

  test('allows the given accounts and principals, and can skip acceptance', () => {
    const { template } = synth({
      allowedAccounts: ['210987654321'],
      allowedPrincipals: [new iam.ArnPrincipal('arn:aws:iam::111122223333:role/egress-consumer')],
      acceptanceRequired: false,
    });
    template.hasResourceProperties('AWS::EC2::VPCEndpointService', { AcceptanceRequired: false });
    template.hasResourceProperties('AWS::EC2::VPCEndpointServicePermissions', {
      AllowedPrincipals: [
        'arn:aws:iam::111122223333:role/egress-consumer',
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::210987654321:root']] },
      ],
    });
  });

  test('an explicit empty list allows no one', () => {
    synth({ allowedAccounts: [] }).template.resourceCountIs('AWS::EC2::VPCEndpointServicePermissions', 0);
  });

  test('allows consumers from other Regions', () => {
    synth({ allowedRegions: ['eu-west-1'] }).template.hasResourceProperties('AWS::EC2::VPCEndpointService', {
      SupportedRegions: ['eu-west-1'],
    });
  });

  test('publishes the service name to SSM when asked', () => {
    const { template, provider, stack } = synth({ serviceNameParameterName: '/egress/service-name' });
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/egress/service-name',
      Type: 'String',
      Value: stack.resolve(provider.endpointServiceName),
    });
    expect(JSON.stringify(stack.resolve(provider.endpointServiceName))).toContain('vpce');
  });
});

describe('observability', () => {
  test('the log group keeps logs three months by default', () => {
    synth().template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  test('the log retention is a prop', () => {
    synth({ logRetention: logs.RetentionDays.ONE_YEAR }).template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 365,
    });
  });

  test('a metric filter counts denied requests', () => {
    const { template, provider } = synth();
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: EgressProxyProvider.DENIED_REQUESTS_FILTER_PATTERN,
      LogGroupName: { Ref: only(template, 'AWS::Logs::LogGroup').id },
      MetricTransformations: [
        {
          MetricNamespace: provider.metricNamespace,
          MetricName: 'DeniedRequests',
          MetricValue: '1',
          DefaultValue: 0,
          Unit: 'Count',
        },
      ],
    });
  });

  test("a metric filter counts rejected reloads, matching the control script's message", () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: EgressProxyProvider.RELOAD_FAILURES_FILTER_PATTERN,
      MetricTransformations: [Match.objectLike({ MetricName: 'ReloadFailures' })],
    });
    const script = contentOf(template, 'setup', '/usr/local/sbin/egress-proxy');
    const message = /fail "(squid -k parse rejected[^"$]*)/.exec(script)![1];
    expect(cloudWatchTermsMatch(EgressProxyProvider.RELOAD_FAILURES_FILTER_PATTERN, `egress-proxy: ${message}`)).toBe(
      true,
    );
  });

  test('the denied-requests pattern counts denials, in every mode, and nothing else', () => {
    const line = (rule: string, audit = '-', status = 'TCP_DENIED/403') =>
      `2025-01-01T00:00:00.000Z client=10.0.0.5 endpoint=%01vpce-0123456789abcdef0 method=CONNECT dest=x.test:443 sni=x.test status=${status} rule=${rule} audit=${audit} bytes_out=0 bytes_in=0 duration_ms=1`;
    const p = EgressProxyProvider.DENIED_REQUESTS_FILTER_PATTERN;
    expect(cloudWatchTermsMatch(p, line('destination-not-allowed'))).toBe(true);
    expect(cloudWatchTermsMatch(p, line('sni-not-allowed', '-', 'NONE_NONE/000'))).toBe(true);
    expect(cloudWatchTermsMatch(p, line('to-link-local'))).toBe(true);
    expect(cloudWatchTermsMatch(p, line('allowlisted', '-', 'TCP_TUNNEL/200'))).toBe(false);
    expect(cloudWatchTermsMatch(p, line('destination-not-allowed', 'would-deny', 'TCP_TUNNEL/200'))).toBe(false);
    expect(cloudWatchTermsMatch(p, '2025/01/01 00:00:00 kid1| Starting Squid Cache version 5.8')).toBe(false);
    const audit = EgressProxyProvider.AUDITED_REQUESTS_FILTER_PATTERN;
    expect(cloudWatchTermsMatch(audit, line('destination-not-allowed', 'would-deny', 'TCP_TUNNEL/200'))).toBe(true);
    expect(cloudWatchTermsMatch(audit, line('destination-not-allowed'))).toBe(false);
  });

  test('metric methods point at the filter metric, the load balancer and the target group', () => {
    const { provider, stack } = synth();
    expect(provider.metricDeniedRequests()).toEqual(
      expect.objectContaining({ namespace: provider.metricNamespace, metricName: 'DeniedRequests', statistic: 'Sum' }),
    );
    expect(provider.metricAuditedRequests().metricName).toBe('AuditedRequests');
    expect(provider.metricActiveConnections()).toEqual(
      expect.objectContaining({ namespace: 'AWS/NetworkELB', metricName: 'ActiveFlowCount' }),
    );
    const unhealthy = provider.metricUnhealthyHosts();
    expect(unhealthy).toEqual(
      expect.objectContaining({ namespace: 'AWS/NetworkELB', metricName: 'UnHealthyHostCount', statistic: 'Maximum' }),
    );
    expect(stack.resolve(unhealthy.dimensions?.TargetGroup)).toBeDefined();
    expect(provider.metricHealthyHosts().metricName).toBe('HealthyHostCount');
  });

  test('no alarms without an alarm action', () => {
    synth().template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
  });

  test('alarms on unhealthy instances and denied-request spikes notify the alarm action', () => {
    const app = new App();
    const stack = new Stack(app, 'Stack');
    const topic = new sns.Topic(stack, 'Topic');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
    const action = { bind: () => ({ alarmActionArn: topic.topicArn }) } as cloudwatch.IAlarmAction;
    new EgressProxyProvider(stack, 'Proxy', {
      vpc,
      policy: new EgressPolicy({ allowedDomains: DOMAINS }),
      alarmAction: action,
      deniedRequestsAlarmThreshold: 25,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'UnHealthyHostCount',
      Threshold: 1,
      AlarmActions: [{ Ref: only(template, 'AWS::SNS::Topic').id }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ReloadFailures',
      Threshold: 1,
      AlarmActions: [{ Ref: only(template, 'AWS::SNS::Topic').id }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DeniedRequests',
      Threshold: 25,
      AlarmActions: [{ Ref: only(template, 'AWS::SNS::Topic').id }],
    });
  });
});

describe('handles and warnings', () => {
  test('exposes the fleet, load balancer, endpoint service, log group, port and policy', () => {
    const { provider } = synth({ port: 8080 });
    expect(provider.port).toBe(8080);
    expect(provider.policy.domains).toContain('sts.us-east-1.amazonaws.com');
    expect(provider.autoScalingGroup.node.id).toBe('AutoScalingGroup');
    expect(provider.loadBalancer.node.id).toBe('LoadBalancer');
    expect(provider.targetGroup.node.id).toBe('TargetGroup');
    expect(provider.endpointService.node.id).toBe('EndpointService');
    expect(provider.logGroup.node.id).toBe('LogGroup');
    expect(provider.connections.defaultPort?.toString()).toBe('8080');
  });

  test("lists the load balancer's Availability Zones for consumers", () => {
    const { provider, vpc } = synth();
    expect(provider.availabilityZones).toEqual(vpc.privateSubnets.map((s) => s.availabilityZone));
    expect(provider.availabilityZones).toHaveLength(2);
  });

  test('each policy warning becomes a synth warning', () => {
    const { stack } = synth({}, { allowedDomains: ['.amazonaws.com'], mode: EgressMode.AUDIT });
    const warnings = Annotations.fromStack(stack).findWarning('/Stack/Proxy', Match.anyValue());
    expect(warnings.map((w) => String(w.entry.data))).toEqual(
      expect.arrayContaining([expect.stringMatching(/public suffix/), expect.stringMatching(/AUDIT mode/)]),
    );
  });
});

describe('bad props', () => {
  test.each([
    [{ minCapacity: 3, maxCapacity: 2 }, /Invalid minCapacity 3: it is above maxCapacity 2/],
    [{ desiredCapacity: 5 }, /desiredCapacity 5: it must lie between minCapacity 2 and maxCapacity 4/],
    [{ minCapacity: 0 }, /minCapacity 0: expected a whole number of at least 1/],
    [{ port: 0 }, /Invalid port 0: .* 1 to 65535/],
    [{ port: 70000 }, /Invalid port 70000/],
    [{ deregistrationDelay: Duration.hours(2) }, /deregistrationDelay 7200 s/],
    [{ idleTimeout: Duration.seconds(30) }, /idleTimeout 30 s: .* 60 to 6000/],
    [{ allowedAccounts: ['1234'] }, /allowedAccounts entry '1234': an AWS account ID is 12 digits/],
    [{ allowedRegions: ['Europe'] }, /allowedRegions entry 'Europe'/],
    [{ targetCpuUtilizationPercent: 150 }, /targetCpuUtilizationPercent 150/],
    [{ squidWorkers: 0 }, /squidWorkers 0/],
  ] as Array<[Partial<EgressProxyProviderProps>, RegExp]>)('%j fails clearly', (props, message) => {
    expect(errorFor(props)).toMatch(message);
  });

  test('an empty subnet selection fails', () => {
    expect(errorFor({ vpcSubnets: { subnets: [] } })).toMatch(/vpcSubnets: the selection matches no subnet/);
  });

  test('a selection the VPC does not have fails', () => {
    expect(errorFor({ vpcSubnets: { subnetGroupName: 'nope' } })).toMatch(/Invalid vpcSubnets: /);
  });

  test('one Availability Zone fails without the opt-in', () => {
    expect(errorFor({}, { maxAzs: 1 })).toMatch(/one Availability Zone .* allowSingleAz: true/);
  });

  test('one Availability Zone with the opt-in synthesizes with a warning', () => {
    const stack = new Stack(new App(), 'Stack');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1 });
    new EgressProxyProvider(stack, 'Proxy', {
      vpc,
      policy: new EgressPolicy({ allowedDomains: DOMAINS }),
      allowSingleAz: true,
      minCapacity: 1,
      maxCapacity: 2,
    });
    Annotations.fromStack(stack).hasWarning('/Stack/Proxy', Match.stringLikeRegexp('single Availability Zone'));
  });

  test('isolated subnets fail: the proxy could reach nothing, and the message names the remedy', () => {
    const message = errorFor(
      { vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } },
      {
        maxAzs: 2,
        subnetConfiguration: [
          { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
          { name: 'closed', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        ],
      },
    );
    expect(message).toMatch(
      /^Invalid vpcSubnets: .* isolated subnets \(SubnetType.PRIVATE_ISOLATED\) with no route to the internet/,
    );
    expect(message).toMatch(
      /SubnetType.PRIVATE_WITH_EGRESS, the default\), or public subnets with associatePublicIpAddress: true/,
    );
  });

  test('a VPC with no private subnets with egress fails by default and names the remedy', () => {
    const message = errorFor(
      {},
      { maxAzs: 2, subnetConfiguration: [{ name: 'closed', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] },
    );
    expect(message).toMatch(/^Invalid vpcSubnets: .*PRIVATE_WITH_EGRESS.*associatePublicIpAddress: true/);
  });

  test('public subnets fail without associatePublicIpAddress', () => {
    expect(errorFor({ vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } })).toMatch(
      /^Invalid vpcSubnets: .* are public subnets, .*Set associatePublicIpAddress: true/,
    );
  });

  test('associatePublicIpAddress fails on private subnets', () => {
    expect(
      errorFor({ associatePublicIpAddress: true, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } }),
    ).toMatch(/^Invalid associatePublicIpAddress true: .* are not public subnets/);
  });

  test('associatePublicIpAddress puts the fleet in the public subnets with public addresses', () => {
    const stack = new Stack(new App(), 'Stack');
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }],
    });
    new EgressProxyProvider(stack, 'Proxy', {
      vpc,
      policy: new EgressPolicy({ allowedDomains: DOMAINS }),
      associatePublicIpAddress: true,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        NetworkInterfaces: [Match.objectLike({ AssociatePublicIpAddress: true, DeviceIndex: 0 })],
      }),
    });
    const asg = only(template, 'AWS::AutoScaling::AutoScalingGroup').resource;
    expect(asg.Properties.VPCZoneIdentifier).toEqual(vpc.publicSubnets.map((s) => stack.resolve(s.subnetId)));
    const routes = Object.keys(template.findResources('AWS::EC2::Route'));
    expect(routes).toHaveLength(2);
    expect(asg.DependsOn).toEqual(expect.arrayContaining(routes));
  });

  test('instances get no public address by default', () => {
    const lt = only(synth().template, 'AWS::EC2::LaunchTemplate').resource;
    expect(JSON.stringify(lt)).not.toMatch(/AssociatePublicIpAddress/);
  });

  test('a policy that needs PROXY protocol fails when it is off', () => {
    const stack = new Stack(new App(), 'Stack');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
    expect(
      () =>
        new EgressProxyProvider(stack, 'Proxy', {
          vpc,
          policy: new EgressPolicy({ allowedDomains: DOMAINS, sourceCidrs: ['10.0.0.0/8'] }),
          proxyProtocol: false,
        }),
    ).toThrow(/PROXY protocol/);
  });
});

describe('cdk-nag', () => {
  test.each([
    ['a small allowlist', DOMAINS],
    ['a 3,000-domain allowlist in S3', Array.from({ length: 3000 }, (_, i) => `host-${i}.example.com`)],
  ])('AwsSolutions reports nothing unacknowledged for %s', (_name, domains) => {
    const app = new App();
    const stack = new Stack(app, 'Stack');
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      maxAzs: 2,
      flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs() } },
    });
    NagSuppressions.addResourceSuppressions(
      vpc,
      [{ id: 'AwsSolutions-IAM5', reason: "Test fixture: the flow-log role of the test VPC is CDK's default." }],
      true,
    );
    new EgressProxyProvider(stack, 'Proxy', {
      vpc,
      policy: new EgressPolicy({ allowedDomains: domains }),
      serviceNameParameterName: '/egress/service-name',
      alarmAction: { bind: () => ({ alarmActionArn: 'arn:aws:sns:us-east-1:123456789012:alarms' }) },
    });
    Aspects.of(stack).add(new AwsSolutionsChecks({ verbose: true }));
    const annotations = Annotations.fromStack(stack);
    const findings = [
      ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ].map((m) => `${m.id}: ${String(m.entry.data).slice(0, 120)}`);
    expect(findings).toEqual([]);
  });
});
