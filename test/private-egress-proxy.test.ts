import { App, Aspects, Stack, StackProps } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import { EgressMode, EgressPolicy, PrivateEgressProxy, PrivateEgressProxyProps } from '../src';

const ACCOUNT = '111111111111';
const ENV = { account: ACCOUNT, region: 'eu-west-1' };
const AZS = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];
const DOMAINS = ['sts.eu-west-1.amazonaws.com', 'logs.eu-west-1.amazonaws.com'];

/** A stack whose Availability Zones are fixed in code, so nothing is looked up. */
class AzStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps = { env: ENV }) {
    super(scope, id, props);
  }
  public get availabilityZones(): string[] {
    return AZS;
  }
}

interface Built {
  readonly app: App;
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
  readonly egress: PrivateEgressProxy;
  readonly template: Template;
}

/** A two-AZ VPC (public + private with NAT) and the proxy with the given props. */
function build(props: Partial<PrivateEgressProxyProps> = {}): Built {
  const app = new App();
  const stack = new AzStack(app, 'Stack');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const egress = new PrivateEgressProxy(stack, 'Egress', { vpc, allowedDomains: DOMAINS, ...props });
  return { app, stack, vpc, egress, template: Template.fromStack(stack) };
}

/** The error message of a construction (fails the test if it does not throw). */
function errorFor(make: (stack: Stack, vpc: ec2.Vpc) => void): string {
  const stack = new AzStack(new App(), 'Stack');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  try {
    make(stack, vpc);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the construction to throw');
}

/** The logical ID of the only resource of a type (fails if there is not exactly one). */
function idOf(template: Template, type: string, props?: any): string {
  const ids = Object.keys(template.findResources(type, props ? { Properties: props } : undefined));
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** The consumer endpoint's security group (by its description). */
function endpointSecurityGroup(template: Template): { id: string; properties: any } {
  const found = template.findResources('AWS::EC2::SecurityGroup', {
    Properties: { GroupDescription: 'Clients of the egress proxy endpoint' },
  });
  const ids = Object.keys(found);
  expect(ids).toHaveLength(1);
  return { id: ids[0], properties: found[ids[0]].Properties };
}

describe('with only a VPC and allowed domains', () => {
  let built: Built;
  beforeAll(() => {
    built = build();
  });

  test('runs the fleet from a launch template, with no launch configuration', () => {
    const { template } = built;
    const lt = idOf(template, 'AWS::EC2::LaunchTemplate');
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      LaunchTemplate: { LaunchTemplateId: { Ref: lt }, Version: Match.anyValue() },
      MinSize: '2',
      MaxSize: '4',
    });
    template.resourceCountIs('AWS::AutoScaling::LaunchConfiguration', 0);
  });

  test('puts the fleet behind an internal network load balancer in the private subnets', () => {
    built.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Type: 'network',
      Scheme: 'internal',
      Subnets: [
        { Ref: Match.stringLikeRegexp('^VpcPrivateSubnet1') },
        { Ref: Match.stringLikeRegexp('^VpcPrivateSubnet2') },
      ],
    });
  });

  test('publishes the load balancer as an endpoint service that needs no acceptance (it admits only this account)', () => {
    const { template } = built;
    const nlb = idOf(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    template.hasResourceProperties('AWS::EC2::VPCEndpointService', {
      AcceptanceRequired: false,
      NetworkLoadBalancerArns: [{ Ref: nlb }],
    });
  });

  test("lets only the stack's own account connect to the endpoint service", () => {
    built.template.hasResourceProperties('AWS::EC2::VPCEndpointServicePermissions', {
      AllowedPrincipals: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${ACCOUNT}:root`]] }],
    });
  });

  test('creates an interface endpoint to its own endpoint service, in the private subnets, without private DNS', () => {
    const { template } = built;
    const service = idOf(template, 'AWS::EC2::VPCEndpointService');
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Interface',
      ServiceName: { 'Fn::Join': ['.', ['com.amazonaws.vpce', { Ref: 'AWS::Region' }, { Ref: service }]] },
      VpcId: { Ref: idOf(template, 'AWS::EC2::VPC') },
      SubnetIds: [
        { Ref: Match.stringLikeRegexp('^VpcPrivateSubnet1') },
        { Ref: Match.stringLikeRegexp('^VpcPrivateSubnet2') },
      ],
      PrivateDnsEnabled: false,
    });
  });

  test('creates no custom resource and no Lambda function: its own endpoint connects without acceptance', () => {
    const { template } = built;
    template.resourceCountIs('AWS::Lambda::Function', 0);
    expect(Object.values(template.toJSON().Resources).filter((r: any) => r.Type.startsWith('Custom::'))).toEqual([]);
  });

  test("the endpoint's security group admits only the VPC CIDR, on 3128, and sends nothing", () => {
    const { template } = built;
    const sg = endpointSecurityGroup(template);
    expect(sg.properties.SecurityGroupIngress).toEqual([
      {
        CidrIp: { 'Fn::GetAtt': [idOf(template, 'AWS::EC2::VPC'), 'CidrBlock'] },
        Description: 'Proxy clients',
        FromPort: 3128,
        ToPort: 3128,
        IpProtocol: 'tcp',
      },
    ]);
    expect(sg.properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '255.255.255.255/32' })]);
    const extra = template.findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: { GroupId: { 'Fn::GetAtt': [sg.id, 'GroupId'] } },
    });
    expect(Object.keys(extra)).toEqual([]);
  });

  test('names the proxy proxy.egress.internal in a private hosted zone egress.internal of the VPC', () => {
    const { template } = built;
    const zone = idOf(template, 'AWS::Route53::HostedZone', {
      Name: 'egress.internal.',
      VPCs: [{ VPCId: { Ref: idOf(template, 'AWS::EC2::VPC') }, VPCRegion: 'eu-west-1' }],
    });
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'proxy.egress.internal.',
      Type: 'A',
      HostedZoneId: { Ref: zone },
      AliasTarget: {
        DNSName: Match.objectLike({ 'Fn::Select': Match.anyValue() }),
        HostedZoneId: Match.anyValue(),
      },
    });
    expect(built.egress.proxyUrl).toBe('http://proxy.egress.internal:3128');
  });

  test('creates no stack outputs', () => {
    expect(built.template.findOutputs('*')).toEqual({});
  });

  test('with endpointOptions.outputs, outputs the proxy URL and a copy-paste export line', () => {
    const { template } = build({ endpointOptions: { outputs: true } });
    template.hasOutput('*', { Value: 'http://proxy.egress.internal:3128' });
    template.hasOutput('*', {
      Value: Match.stringLikeRegexp(
        '^export HTTPS_PROXY=http://proxy\\.egress\\.internal:3128 HTTP_PROXY=http://proxy\\.egress\\.internal:3128 NO_PROXY=169\\.254\\.169\\.254,',
      ),
    });
  });

  test('sends PROXY protocol v2 from the load balancer to the instances', () => {
    built.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 3128,
      TargetGroupAttributes: Match.arrayWith([{ Key: 'proxy_protocol_v2.enabled', Value: 'true' }]),
    });
  });

  test('enforces a policy built from the allowed domains, with no source restriction of its own', () => {
    const { egress } = built;
    expect(egress.policy.mode).toBe(EgressMode.ENFORCE);
    expect(egress.policy.domains).toEqual(expect.arrayContaining(DOMAINS));
    expect(egress.policy.sourceCidrs).toEqual([]);
    expect(egress.provider.policy).toBe(egress.policy);
  });

  test("checks the endpoint's zones against the provider's, so there is no AZ warning", () => {
    expect(Annotations.fromStack(built.stack).findWarning('*', Match.stringLikeRegexp('AZ ID'))).toEqual([]);
  });

  test('synthesises without context lookups', () => {
    expect(built.app.synth().manifest.missing ?? []).toEqual([]);
  });

  test("its connections are the endpoint's security group, with the proxy port as default", () => {
    const { egress } = built;
    expect(egress.connections).toBe(egress.endpoint.connections);
    expect(egress.connections.securityGroups).toHaveLength(1);
    expect(egress.connections.defaultPort?.toString()).toBe('3128');
  });
});

describe('allowedDomains or policy', () => {
  test('neither fails, asking for allowed domains or a policy', () => {
    expect(errorFor((stack, vpc) => new PrivateEgressProxy(stack, 'Egress', { vpc }))).toMatch(
      /^Invalid allowedDomains: missing; give allowedDomains \(the host names the proxy may reach\) or a full policy$/,
    );
  });

  test('both fail, asking to put the domains into the policy', () => {
    expect(
      errorFor(
        (stack, vpc) =>
          new PrivateEgressProxy(stack, 'Egress', {
            vpc,
            allowedDomains: DOMAINS,
            policy: new EgressPolicy({ allowedDomains: DOMAINS }),
          }),
      ),
    ).toMatch(/^Invalid allowedDomains: give either allowedDomains or policy, not both/);
  });

  test('an empty allowedDomains fails: enforce mode would deny everything', () => {
    expect(errorFor((stack, vpc) => new PrivateEgressProxy(stack, 'Egress', { vpc, allowedDomains: [] }))).toMatch(
      /^Invalid allowedDomains \[\]: with no allowed domains \(and no consumers\) enforce mode would deny everything/,
    );
  });

  test('a given policy is used as is, by the construct and its provider', () => {
    const policy = new EgressPolicy({ allowedDomains: DOMAINS, ports: [443, 8443], mode: EgressMode.AUDIT });
    const { egress, template } = build({ allowedDomains: undefined, policy });
    expect(egress.policy).toBe(policy);
    expect(egress.provider.policy).toBe(policy);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Egress proxy instances'),
      SecurityGroupEgress: Match.arrayWith([Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 8443 })]),
    });
  });
});

describe('sourceCidrs', () => {
  const SOURCES = ['10.0.0.0/16', '192.168.0.0/16'];

  test("replace the VPC CIDR in the endpoint's security group", () => {
    const { template } = build({ sourceCidrs: SOURCES });
    expect(endpointSecurityGroup(template).properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ CidrIp: '10.0.0.0/16', FromPort: 3128, ToPort: 3128 }),
      expect.objectContaining({ CidrIp: '192.168.0.0/16', FromPort: 3128, ToPort: 3128 }),
    ]);
  });

  test("become the policy's source CIDRs, rendered into the instances' configuration", () => {
    const { egress, template } = build({ sourceCidrs: SOURCES });
    expect(egress.policy.sourceCidrs).toEqual(SOURCES);
    const asg = Object.values(template.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    expect(JSON.stringify(asg.Metadata)).toContain('192.168.0.0/16');
  });

  test('an IPv6 range reaches the security group as an IPv6 rule', () => {
    const { template } = build({ sourceCidrs: ['2001:db8::/32'] });
    expect(endpointSecurityGroup(template).properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ CidrIpv6: '2001:db8::/32', FromPort: 3128 }),
    ]);
  });

  test('an invalid entry fails, naming it', () => {
    expect(
      errorFor(
        (stack, vpc) =>
          new PrivateEgressProxy(stack, 'Egress', { vpc, allowedDomains: DOMAINS, sourceCidrs: ['10.0.0.1/8'] }),
      ),
    ).toMatch(/^Invalid sourceCidrs entry '10\.0\.0\.1\/8': it has host bits set/);
  });

  test('a token (e.g. the VPC CIDR) fails with a clear error when the policy is built from allowedDomains', () => {
    expect(
      errorFor(
        (stack, vpc) =>
          new PrivateEgressProxy(stack, 'Egress', { vpc, allowedDomains: DOMAINS, sourceCidrs: [vpc.vpcCidrBlock] }),
      ),
    ).toMatch(/^Invalid sourceCidrs entry '\$\{Token\[.*\]\}': .*needs literal CIDR blocks/);
  });

  test('with a given policy, reach only the security group and leave the policy as it is', () => {
    const policy = new EgressPolicy({ allowedDomains: DOMAINS });
    const { egress, template } = build({ allowedDomains: undefined, policy, sourceCidrs: ['192.168.0.0/16'] });
    expect(egress.policy.sourceCidrs).toEqual([]);
    expect(endpointSecurityGroup(template).properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ CidrIp: '192.168.0.0/16' }),
    ]);
  });
});

describe('provider props', () => {
  test('port reaches the listener, the target group, the instances, the endpoint and the URL', () => {
    const { egress, template } = build({ port: 8080 });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 8080, Protocol: 'TCP' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { Port: 8080 });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      Description: Match.stringLikeRegexp('from the egress proxy load balancer'),
      FromPort: 8080,
      ToPort: 8080,
    });
    expect(endpointSecurityGroup(template).properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ FromPort: 8080, ToPort: 8080 }),
    ]);
    expect(egress.provider.port).toBe(8080);
    expect(egress.endpoint.port).toBe(8080);
    expect(egress.proxyUrl).toBe('http://proxy.egress.internal:8080');
  });

  test('minCapacity and maxCapacity size the fleet', () => {
    build({ minCapacity: 3, maxCapacity: 6 }).template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: '3',
      MaxSize: '6',
    });
  });

  test('instanceType reaches the launch template', () => {
    build({ instanceType: new ec2.InstanceType('t4g.small') }).template.hasResourceProperties(
      'AWS::EC2::LaunchTemplate',
      {
        LaunchTemplateData: Match.objectLike({ InstanceType: 't4g.small' }),
      },
    );
  });

  test('the instance type defaults to c7gn.medium', () => {
    build().template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ InstanceType: 'c7gn.medium' }),
    });
  });

  test("providerOptions pass through: log retention, and allowed accounts beside the stack's own", () => {
    const { template } = build({
      providerOptions: { logRetention: logs.RetentionDays.ONE_MONTH, allowedAccounts: ['333333333333'] },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    // The construct's own endpoint is in this account: it stays admitted whatever the options add.
    template.hasResourceProperties('AWS::EC2::VPCEndpointServicePermissions', {
      AllowedPrincipals: [
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${ACCOUNT}:root`]] },
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::333333333333:root']] },
      ],
    });
  });

  test('providerOptions give port, capacity and instance type when the top-level props are absent', () => {
    const { egress, template } = build({
      providerOptions: {
        port: 9090,
        minCapacity: 3,
        maxCapacity: 5,
        instanceType: new ec2.InstanceType('c6gn.medium'),
      },
    });
    expect(egress.provider.port).toBe(9090);
    expect(egress.proxyUrl).toBe('http://proxy.egress.internal:9090');
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '3', MaxSize: '5' });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ InstanceType: 'c6gn.medium' }),
    });
  });

  test('top-level port, capacity and instance type win over providerOptions', () => {
    const { egress, template } = build({
      port: 8080,
      minCapacity: 2,
      maxCapacity: 8,
      instanceType: new ec2.InstanceType('t4g.small'),
      providerOptions: {
        port: 9090,
        minCapacity: 3,
        maxCapacity: 5,
        instanceType: new ec2.InstanceType('c6gn.medium'),
      },
    });
    expect(egress.provider.port).toBe(8080);
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '2', MaxSize: '8' });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ InstanceType: 't4g.small' }),
    });
  });

  test('providerOptions.acceptanceRequired true requires acceptance, still with no Lambda, and warns that its own endpoint waits', () => {
    const { stack, template } = build({ providerOptions: { acceptanceRequired: true } });
    template.hasResourceProperties('AWS::EC2::VPCEndpointService', { AcceptanceRequired: true });
    template.resourceCountIs('AWS::Lambda::Function', 0);
    Annotations.fromStack(stack).hasWarning(
      '/Stack/Egress',
      Match.stringLikeRegexp('stays pendingAcceptance .* aws ec2 accept-vpc-endpoint-connections'),
    );
  });

  test('providerOptions.allowedAccounts adds accounts that connect without acceptance, and says so at synth', () => {
    const { stack, template } = build({ providerOptions: { allowedAccounts: [ACCOUNT, '333333333333'] } });
    template.hasResourceProperties('AWS::EC2::VPCEndpointService', { AcceptanceRequired: false });
    Annotations.fromStack(stack).hasWarning(
      '/Stack/Egress',
      Match.stringLikeRegexp("connect without the owner's approval.*EgressProxyProvider"),
    );
    template.hasResourceProperties('AWS::EC2::VPCEndpointServicePermissions', {
      AllowedPrincipals: [
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${ACCOUNT}:root`]] },
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::333333333333:root']] },
      ],
    });
  });

  test('providerOptions.proxyProtocol false turns PROXY protocol v2 off', () => {
    build({ providerOptions: { proxyProtocol: false } }).template.hasResourceProperties(
      'AWS::ElasticLoadBalancingV2::TargetGroup',
      {
        TargetGroupAttributes: Match.arrayWith([{ Key: 'proxy_protocol_v2.enabled', Value: 'false' }]),
      },
    );
  });
});

describe('endpoint options', () => {
  test('endpointOptions.allowedCidrs admit those networks when sourceCidrs is absent', () => {
    const { egress, template } = build({ endpointOptions: { allowedCidrs: ['172.16.0.0/12'] } });
    expect(endpointSecurityGroup(template).properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ CidrIp: '172.16.0.0/12', FromPort: 3128 }),
    ]);
    expect(egress.policy.sourceCidrs).toEqual([]);
  });

  test('sourceCidrs win over endpointOptions.allowedCidrs', () => {
    const { template } = build({
      sourceCidrs: ['192.168.0.0/16'],
      endpointOptions: { allowedCidrs: ['172.16.0.0/12'] },
    });
    expect(endpointSecurityGroup(template).properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ CidrIp: '192.168.0.0/16' }),
    ]);
  });

  test('endpointOptions.dnsName names the proxy when dnsName is absent', () => {
    const { egress, template } = build({ endpointOptions: { dnsName: 'squid.corp.internal' } });
    template.hasResourceProperties('AWS::Route53::HostedZone', { Name: 'corp.internal.' });
    expect(egress.proxyUrl).toBe('http://squid.corp.internal:3128');
  });

  test('dnsName wins over endpointOptions.dnsName', () => {
    const { egress } = build({ dnsName: 'proxy.net.internal', endpointOptions: { dnsName: 'squid.corp.internal' } });
    expect(egress.proxyUrl).toBe('http://proxy.net.internal:3128');
  });

  test('consumerSubnets win over endpointOptions.subnets', () => {
    const app = new App();
    const stack = new AzStack(app, 'Stack');
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'proxy', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        { name: 'clients', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
    });
    new PrivateEgressProxy(stack, 'Egress', {
      vpc,
      allowedDomains: DOMAINS,
      consumerSubnets: { subnetGroupName: 'clients' },
      endpointOptions: { subnets: { subnetGroupName: 'proxy' } },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::VPCEndpoint', {
      SubnetIds: [
        { Ref: Match.stringLikeRegexp('^VpcclientsSubnet1') },
        { Ref: Match.stringLikeRegexp('^VpcclientsSubnet2') },
      ],
    });
  });

  test('endpointOptions.allowedPeers admit a peer instead of the VPC CIDR', () => {
    const app = new App();
    const stack = new AzStack(app, 'Stack');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const clients = new ec2.SecurityGroup(stack, 'Clients', { vpc });
    new PrivateEgressProxy(stack, 'Egress', {
      vpc,
      allowedDomains: DOMAINS,
      endpointOptions: { allowedPeers: [clients] },
    });
    const template = Template.fromStack(stack);
    expect(endpointSecurityGroup(template).properties.SecurityGroupIngress).toBeUndefined();
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 3128,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Clients'), 'GroupId'] },
    });
  });

  test('an endpointOptions.port that differs from the provider port fails', () => {
    expect(
      errorFor(
        (stack, vpc) =>
          new PrivateEgressProxy(stack, 'Egress', { vpc, allowedDomains: DOMAINS, endpointOptions: { port: 8080 } }),
      ),
    ).toMatch(/^Invalid port 8080: the proxy service listens on 3128/);
  });
});

describe('a consumer VPC', () => {
  function withConsumer(consumerAzs: number, consumerSubnets?: ec2.SubnetSelection) {
    const app = new App();
    const stack = new AzStack(app, 'Stack');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const consumerVpc = new ec2.Vpc(stack, 'ConsumerVpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.20.0.0/16'),
      maxAzs: consumerAzs,
      natGateways: 0,
      subnetConfiguration: [{ name: 'clients', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    const make = () =>
      new PrivateEgressProxy(stack, 'Egress', { vpc, allowedDomains: DOMAINS, consumerVpc, consumerSubnets });
    return { stack, vpc, consumerVpc, make };
  }

  test('gets the endpoint, its security group and the hosted zone; the fleet stays in the provider VPC', () => {
    const { stack, make } = withConsumer(2);
    make();
    const template = Template.fromStack(stack);
    const vpcs = template.findResources('AWS::EC2::VPC');
    const consumer = Object.keys(vpcs).find((id) => id.startsWith('ConsumerVpc'))!;
    const provider = Object.keys(vpcs).find((id) => id.startsWith('Vpc'))!;
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcId: { Ref: consumer },
      SubnetIds: [
        { Ref: Match.stringLikeRegexp('^ConsumerVpcclientsSubnet1') },
        { Ref: Match.stringLikeRegexp('^ConsumerVpcclientsSubnet2') },
      ],
    });
    const sg = endpointSecurityGroup(template);
    expect(sg.properties.VpcId).toEqual({ Ref: consumer });
    expect(sg.properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ CidrIp: { 'Fn::GetAtt': [consumer, 'CidrBlock'] }, FromPort: 3128 }),
    ]);
    template.hasResourceProperties('AWS::Route53::HostedZone', {
      Name: 'egress.internal.',
      VPCs: [{ VPCId: { Ref: consumer }, VPCRegion: 'eu-west-1' }],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Subnets: [
        { Ref: Match.stringLikeRegexp('^VpcPrivateSubnet1') },
        { Ref: Match.stringLikeRegexp('^VpcPrivateSubnet2') },
      ],
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { VpcId: { Ref: provider } });
  });

  test('with three zones, the endpoint goes only into the two zones the provider serves', () => {
    const { stack, make } = withConsumer(3);
    make();
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::VPCEndpoint', {
      SubnetIds: [
        { Ref: Match.stringLikeRegexp('^ConsumerVpcclientsSubnet1') },
        { Ref: Match.stringLikeRegexp('^ConsumerVpcclientsSubnet2') },
      ],
    });
  });

  test('with consumerSubnets in a zone the provider does not serve fails, naming the zones', () => {
    const { make } = withConsumer(3, { subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
    expect(make).toThrow(
      /^Invalid subnets: the endpoint would have network interfaces in eu-west-1c, where the proxy service has no load balancer \(it serves eu-west-1a, eu-west-1b\); select subnets in those zones$/,
    );
  });

  test('with subnets chosen in the zones the provider serves works', () => {
    const { stack, make } = withConsumer(3, {
      subnetType: ec2.SubnetType.PRIVATE_ISOLATED,
      availabilityZones: AZS.slice(0, 2),
    });
    make();
    const endpoint = Object.values(Template.fromStack(stack).findResources('AWS::EC2::VPCEndpoint'))[0];
    expect(endpoint.Properties.SubnetIds).toHaveLength(2);
  });
});

describe('dnsName', () => {
  test('names the record and its private hosted zone after the first label', () => {
    const { egress, template } = build({ dnsName: 'egress.corp.example' });
    template.hasResourceProperties('AWS::Route53::HostedZone', { Name: 'corp.example.' });
    template.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'egress.corp.example.', Type: 'A' });
    template.resourceCountIs('AWS::Route53::HostedZone', 1);
    expect(egress.proxyUrl).toBe('http://egress.corp.example:3128');
  });

  test('an invalid name fails, naming it', () => {
    expect(
      errorFor(
        (stack, vpc) => new PrivateEgressProxy(stack, 'Egress', { vpc, allowedDomains: DOMAINS, dnsName: 'proxy' }),
      ),
    ).toMatch(/^Invalid dnsName 'proxy': a host name with at least two labels/);
  });
});

describe('stacks', () => {
  test('an environment-agnostic stack synthesises without lookups and without an AZ warning', () => {
    const app = new App();
    const stack = new Stack(app, 'Agnostic');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    new PrivateEgressProxy(stack, 'Egress', { vpc, allowedDomains: DOMAINS });
    expect(app.synth().manifest.missing ?? []).toEqual([]);
    Template.fromStack(stack).resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AZ ID'))).toEqual([]);
  });

  test('two proxies in one stack connect their own endpoints with no Lambda function', () => {
    const app = new App();
    const stack = new AzStack(app, 'Stack');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    new PrivateEgressProxy(stack, 'A', { vpc, allowedDomains: DOMAINS, dnsName: 'a.egress-a.internal' });
    new PrivateEgressProxy(stack, 'B', { vpc, allowedDomains: DOMAINS, dnsName: 'b.egress-b.internal' });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
    template.resourceCountIs('AWS::Lambda::Function', 0);
  });

  test('cdk-nag AwsSolutions reports nothing unacknowledged for the defaults in a VPC with flow logs', () => {
    const app = new App();
    const stack = new AzStack(app, 'Stack');
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs() } },
    });
    new PrivateEgressProxy(stack, 'Egress', { vpc, allowedDomains: DOMAINS });
    Aspects.of(stack).add(new AwsSolutionsChecks({ verbose: true }));
    const annotations = Annotations.fromStack(stack);
    const findings = [
      ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ].map((m) => `${m.id}: ${String(m.entry.data).slice(0, 160)}`);
    expect(findings).toEqual([]);
  });
});
