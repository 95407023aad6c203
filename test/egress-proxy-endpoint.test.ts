import { App, Aspects, CfnParameter, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  EgressPolicy,
  EgressProxyEndpoint,
  EgressProxyEndpointProps,
  EgressProxyProvider,
  EgressProxyService,
  EgressProxyServiceAttributes,
} from '../src';

const SERVICE = 'com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0';
const ENV = { account: '222222222222', region: 'eu-west-1' };

const AZS = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];

/** A consumer VPC with no internet route (the closed network): isolated subnets only. */
function isolatedVpc(stack: Stack, id: string, azs: number) {
  return new ec2.Vpc(stack, id, {
    ipAddresses: ec2.IpAddresses.cidr('10.20.0.0/16'),
    availabilityZones: AZS.slice(0, azs),
    natGateways: 0,
    subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
}

/** The service by its attributes (the consumer's view of a provider in another account). */
function imported(stack: Stack, attrs: Partial<EgressProxyServiceAttributes> = {}) {
  return EgressProxyService.fromServiceAttributes(stack, `Service${stack.node.children.length}`, {
    serviceName: SERVICE,
    ...attrs,
  });
}

function consumerStack() {
  const app = new App();
  const stack = new Stack(app, 'Consumer', { env: ENV });
  const vpc = isolatedVpc(stack, 'Vpc', 2);
  return { app, stack, vpc };
}

test('creates an interface endpoint to the service name on the proxy port, without private DNS', () => {
  const { stack, vpc } = consumerStack();
  new EgressProxyEndpoint(stack, 'Proxy', { vpc, service: imported(stack) });
  Template.fromStack(stack).hasResourceProperties('AWS::EC2::VPCEndpoint', {
    ServiceName: SERVICE,
    VpcEndpointType: 'Interface',
    PrivateDnsEnabled: false,
  });
});

test("the endpoint's security group admits the proxy port from the consumer VPC's CIDR by default, and nothing else", () => {
  const { stack, vpc } = consumerStack();
  new EgressProxyEndpoint(stack, 'Proxy', { vpc, service: imported(stack) });
  const t = Template.fromStack(stack);
  t.hasResourceProperties('AWS::EC2::SecurityGroup', {
    SecurityGroupIngress: [
      {
        CidrIp: { 'Fn::GetAtt': [Match.stringLikeRegexp('Vpc'), 'CidrBlock'] },
        FromPort: 3128,
        ToPort: 3128,
        IpProtocol: 'tcp',
      },
    ],
    SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32' })],
  });
});

test('given source CIDRs (a VPN range) replace the VPC default, IPv4 and IPv6', () => {
  const { stack, vpc } = consumerStack();
  new EgressProxyEndpoint(stack, 'Proxy', {
    vpc,
    service: imported(stack),
    allowedCidrs: ['192.168.10.0/24', '2001:db8:10::/48'],
  });
  Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroup', {
    SecurityGroupIngress: [
      Match.objectLike({ CidrIp: '192.168.10.0/24', FromPort: 3128 }),
      Match.objectLike({ CidrIpv6: '2001:db8:10::/48', FromPort: 3128 }),
    ],
  });
});

test('an invalid source CIDR fails with the value and the rule', () => {
  const { stack, vpc } = consumerStack();
  expect(
    () =>
      new EgressProxyEndpoint(stack, 'Proxy', {
        vpc,
        service: imported(stack),
        allowedCidrs: ['10.0.0.1/8'],
      }),
  ).toThrow(/^Invalid allowedCidrs entry '10\.0\.0\.1\/8': it has host bits set; did you mean '10\.0\.0\.0\/8'/);
});

test('configureInstance sends an instance through the proxy and lets it reach the endpoint', () => {
  const { stack, vpc } = consumerStack();
  const instance = new ec2.Instance(stack, 'Client', {
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    instanceType: new ec2.InstanceType('t4g.micro'),
    machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
  });
  const ep = new EgressProxyEndpoint(stack, 'Proxy', { vpc, service: imported(stack) });
  ep.configureInstance(instance);
  const t = Template.fromStack(stack);
  t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
    FromPort: 3128,
    ToPort: 3128,
    SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('ClientInstanceSecurityGroup'), 'GroupId'] },
  });
  t.hasResourceProperties('AWS::EC2::Instance', {
    UserData: {
      'Fn::Base64': { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('/etc/profile.d/egress-proxy.sh')])] },
    },
  });
});

test('allowClient admits a peer (an Auto Scaling group) to the proxy port', () => {
  const { stack, vpc } = consumerStack();
  const asg = new autoscaling.AutoScalingGroup(stack, 'Clients', {
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    launchTemplate: new ec2.LaunchTemplate(stack, 'Template', {
      instanceType: new ec2.InstanceType('t4g.micro'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
      securityGroup: new ec2.SecurityGroup(stack, 'ClientsSg', { vpc }),
    }),
  });
  new EgressProxyEndpoint(stack, 'Proxy', { vpc, service: imported(stack) }).allowClient(asg);
  Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
    FromPort: 3128,
    SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('ClientsSg'), 'GroupId'] },
  });
});

test('a friendly DNS name creates a private hosted zone and an alias record to the endpoint', () => {
  const { stack, vpc } = consumerStack();
  const ep = new EgressProxyEndpoint(stack, 'Proxy', {
    vpc,
    service: imported(stack),
    dnsName: 'proxy.egress.internal',
  });
  const t = Template.fromStack(stack);
  t.hasResourceProperties('AWS::Route53::HostedZone', { Name: 'egress.internal.', VPCs: [Match.objectLike({})] });
  t.hasResourceProperties('AWS::Route53::RecordSet', {
    Name: 'proxy.egress.internal.',
    Type: 'A',
    AliasTarget: Match.objectLike({}),
  });
  expect(ep.proxyUrl).toBe('http://proxy.egress.internal:3128');
});

test('without a DNS name the proxy URL uses the regional endpoint DNS name', () => {
  const { stack, vpc } = consumerStack();
  const ep = new EgressProxyEndpoint(stack, 'Proxy', { vpc, service: imported(stack) });
  expect(stack.resolve(ep.proxyUrl)).toEqual({
    'Fn::Join': [
      '',
      [
        'http://',
        {
          'Fn::Select': [
            1,
            {
              'Fn::Split': [
                ':',
                { 'Fn::Select': [0, { 'Fn::GetAtt': [expect.stringMatching(/^ProxyEndpoint/), 'DnsEntries'] }] },
              ],
            },
          ],
        },
        ':3128',
      ],
    ],
  });
});

test('creates no stack outputs unless asked', () => {
  const { stack, vpc } = consumerStack();
  new EgressProxyEndpoint(stack, 'Proxy', { vpc, service: imported(stack), dnsName: 'proxy.egress.internal' });
  expect(Template.fromStack(stack).findOutputs('*')).toEqual({});
});

test('with outputs, stack outputs carry the proxy URL and a copy-paste export line', () => {
  const { stack, vpc } = consumerStack();
  new EgressProxyEndpoint(stack, 'Proxy', {
    vpc,
    service: imported(stack),
    dnsName: 'proxy.egress.internal',
    outputs: true,
  });
  const t = Template.fromStack(stack);
  t.hasOutput('*', { Value: 'http://proxy.egress.internal:3128' });
  t.hasOutput('*', {
    Value: Match.stringLikeRegexp(
      '^export HTTPS_PROXY=http://proxy\\.egress\\.internal:3128 .*NO_PROXY=169\\.254\\.169\\.254',
    ),
  });
});

test('the service name can come from an SSM parameter, read at deploy time', () => {
  const { stack, vpc } = consumerStack();
  const ep = new EgressProxyEndpoint(stack, 'Proxy', {
    vpc,
    service: EgressProxyService.fromSsmParameters(stack, 'Service', { parameterPrefix: '/egress-proxy', port: 8080 }),
  });
  const t = Template.fromStack(stack);
  const name = Object.keys(
    t.findParameters('*', { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/egress-proxy/service-name' }),
  );
  expect(name).toHaveLength(1);
  t.hasResourceProperties('AWS::EC2::VPCEndpoint', { ServiceName: { Ref: name[0] } });
  expect(ep.port).toBe(8080);
  // Values read at deploy time cannot be compared at synth time.
  Annotations.fromStack(stack).hasWarning('/Consumer/Proxy', Match.stringLikeRegexp('matched by AZ ID'));
});

test('an SSM parameter prefix that is not a path fails, naming it', () => {
  const { stack } = consumerStack();
  expect(() => EgressProxyService.fromSsmParameters(stack, 'Service', { parameterPrefix: 'egress-proxy/' })).toThrow(
    /^Invalid parameterPrefix 'egress-proxy\/': an SSM parameter path such as '\/egress-proxy'/,
  );
});

describe('EgressProxyService.fromServiceAttributes', () => {
  test('a malformed service name fails with the value and the expected form', () => {
    const { stack } = consumerStack();
    expect(() => imported(stack, { serviceName: 'vpce-svc-123' })).toThrow(
      /^Invalid serviceName 'vpce-svc-123': expected 'com\.amazonaws\.vpce\.<region>\.vpce-svc-/,
    );
  });

  test('the Region comes from the service name', () => {
    const { stack } = consumerStack();
    expect(imported(stack, { serviceName: 'com.amazonaws.vpce.us-east-2.vpce-svc-0123456789abcdef0' }).region).toBe(
      'us-east-2',
    );
  });

  test('a Region other than the one in the service name fails, naming both', () => {
    const { stack } = consumerStack();
    expect(() => imported(stack, { region: 'us-east-1' })).toThrow(
      /^Invalid region 'us-east-1': serviceName 'com\.amazonaws\.vpce\.eu-west-1\.vpce-svc-0123456789abcdef0' is a service in eu-west-1/,
    );
  });

  test.each([
    [['eu-west-1a'], /^Invalid availabilityZoneIds entry 'eu-west-1a': an AZ ID looks like 'use1-az1'/],
    [['euw1-az1', 'euw1-az1'], /^Invalid availabilityZoneIds: 'euw1-az1' is listed twice/],
    [['euw1-az1', 'use1-az2'], /^Invalid availabilityZoneIds: euw1-az1, use1-az2 are in different Regions/],
    [[], /^Invalid availabilityZoneIds \[\]/],
  ])('AZ IDs %j fail, naming availabilityZoneIds', (ids, error) => {
    const { stack } = consumerStack();
    expect(() => imported(stack, { availabilityZoneIds: ids })).toThrow(error);
  });

  test('Local Zone AZ IDs are AZ IDs', () => {
    const { stack } = consumerStack();
    expect(imported(stack, { availabilityZoneIds: ['usw2-az1', 'usw2-lax1-az1'] }).availabilityZoneIds).toEqual([
      'usw2-az1',
      'usw2-lax1-az1',
    ]);
  });

  test('a port outside 1-65535 fails, naming port', () => {
    const { stack } = consumerStack();
    expect(() => imported(stack, { port: 70000 })).toThrow(/^Invalid port 70000/);
  });

  test('creates nothing in the template', () => {
    const stack = new Stack(new App(), 'Consumer', { env: ENV });
    imported(stack, { availabilityZoneIds: ['euw1-az1'] });
    expect(Template.fromStack(stack).toJSON().Resources ?? {}).toEqual({});
  });
});

test('a port that differs from the service port fails', () => {
  const { stack, vpc } = consumerStack();
  expect(
    () =>
      new EgressProxyEndpoint(stack, 'Proxy', {
        vpc,
        service: imported(stack, { port: 3128 }),
        port: 8080,
      }),
  ).toThrow(/Invalid port 8080: the proxy service listens on 3128/);
});

test('a service in another account without AZ IDs warns that Availability Zones are matched by AZ ID and could not be checked', () => {
  const { stack, vpc } = consumerStack();
  new EgressProxyEndpoint(stack, 'Proxy', { vpc, service: imported(stack) });
  Annotations.fromStack(stack).hasWarning('/Consumer/Proxy', Match.stringLikeRegexp('matched by AZ ID'));
});

describe('with the provider in the same app and account', () => {
  function pair(consumerAzs: number) {
    const app = new App();
    const stack = new Stack(app, 'Both', { env: ENV });
    const providerVpc = new ec2.Vpc(stack, 'ProviderVpc', { availabilityZones: AZS.slice(0, 2), natGateways: 1 });
    const provider = new EgressProxyProvider(stack, 'Provider', {
      vpc: providerVpc,
      policy: new EgressPolicy({ allowedDomains: ['sts.eu-west-1.amazonaws.com'] }),
    });
    const vpc = isolatedVpc(stack, 'ConsumerVpc', consumerAzs);
    return { stack, provider, vpc };
  }

  test('uses the provider service name and port, with no AZ warning', () => {
    const { stack, provider, vpc } = pair(2);
    new EgressProxyEndpoint(stack, 'Proxy', { vpc, service: provider });
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: Match.anyValue(),
      VpcEndpointType: 'Interface',
    });
    expect(Annotations.fromStack(stack).findWarning('/Both/Proxy', Match.stringLikeRegexp('AZ ID'))).toEqual([]);
  });

  test('by default, only subnets in the zones the provider serves get the endpoint', () => {
    const { stack, provider, vpc } = pair(3);
    new EgressProxyEndpoint(stack, 'Proxy', { vpc, service: provider });
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::VPCEndpoint', {
      SubnetIds: [
        { Ref: Match.stringLikeRegexp('^ConsumerVpcisolatedSubnet1') },
        { Ref: Match.stringLikeRegexp('^ConsumerVpcisolatedSubnet2') },
      ],
    });
  });

  test('subnets chosen in an AZ the provider does not serve fail with the AZ names', () => {
    const { stack, provider, vpc } = pair(3);
    expect(
      () =>
        new EgressProxyEndpoint(stack, 'Proxy', {
          vpc,
          service: provider,
          subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        }),
    ).toThrow(
      /^Invalid subnets: the endpoint would have network interfaces in eu-west-1c, where the proxy service has no load balancer \(it serves eu-west-1a, eu-west-1b\)/,
    );
  });
});

describe('an EgressProxyProvider as the service', () => {
  function providerStack(props: { port?: number; env?: { account: string; region: string } } = {}) {
    const app = new App();
    const stack = new Stack(app, 'Provider', { env: props.env ?? ENV });
    const vpc = new ec2.Vpc(stack, 'Vpc', { availabilityZones: AZS.slice(0, 2), natGateways: 1 });
    const provider = new EgressProxyProvider(stack, 'Proxy', {
      vpc,
      policy: new EgressPolicy({ allowedDomains: ['sts.eu-west-1.amazonaws.com'] }),
      port: props.port,
    });
    return { app, stack, provider };
  }

  test("exposes the service's port, zones, AZ IDs, account and Region", () => {
    const { stack, provider } = providerStack({ port: 8080 });
    expect(provider.port).toBe(8080);
    expect(provider.availabilityZones).toEqual(['eu-west-1a', 'eu-west-1b']);
    expect(provider.account).toBe(ENV.account);
    expect(provider.region).toBe(ENV.region);
    // AZ IDs are the load balancer subnets' AvailabilityZoneId attributes, known at deploy time.
    expect(stack.resolve(provider.availabilityZoneIds)).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/^VpcPrivateSubnet1Subnet/), 'AvailabilityZoneId'] },
      { 'Fn::GetAtt': [expect.stringMatching(/^VpcPrivateSubnet2Subnet/), 'AvailabilityZoneId'] },
    ]);
  });

  test("the endpoint takes the provider's port for its security group, service port and URL", () => {
    const { stack, provider } = providerStack({ port: 8080 });
    const ep = new EgressProxyEndpoint(stack, 'Endpoint', {
      vpc: isolatedVpc(stack, 'Consumer', 2),
      service: provider,
    });
    expect(ep.port).toBe(8080);
    expect(stack.resolve(ep.proxyUrl)).toEqual({ 'Fn::Join': ['', ['http://', expect.anything(), ':8080']] });
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Clients of the egress proxy endpoint',
      SecurityGroupIngress: [Match.objectLike({ FromPort: 8080, ToPort: 8080 })],
    });
  });

  test("the endpoint's service name refers to the provider's endpoint service", () => {
    const { stack, provider } = providerStack();
    new EgressProxyEndpoint(stack, 'Endpoint', {
      vpc: isolatedVpc(stack, 'Consumer', 2),
      service: provider,
    });
    const t = Template.fromStack(stack);
    const service = Object.keys(t.findResources('AWS::EC2::VPCEndpointService'))[0];
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: { 'Fn::Join': ['.', ['com.amazonaws.vpce', { Ref: 'AWS::Region' }, { Ref: service }]] },
    });
  });

  test("an endpoint port other than the provider's fails, naming both", () => {
    const { stack, provider } = providerStack({ port: 8080 });
    expect(
      () =>
        new EgressProxyEndpoint(stack, 'Endpoint', {
          vpc: isolatedVpc(stack, 'Consumer', 2),
          service: provider,
          port: 3128,
        }),
    ).toThrow(/^Invalid port 3128: the proxy service listens on 8080; the endpoint must use the same port$/);
  });

  test('a provider in another account is not checked by AZ name: the endpoint warns', () => {
    const { app, provider } = providerStack({ env: { account: '111111111111', region: 'eu-west-1' } });
    // (How the service name crosses accounts in one app depends on the aws-cdk-lib release: the
    // README's way is EgressProxyService.fromServiceAttributes in account B's own app.)
    const consumer = new Stack(app, 'Consumer', { env: ENV });
    const ep = new EgressProxyEndpoint(consumer, 'Endpoint', {
      vpc: isolatedVpc(consumer, 'Vpc', 3),
      service: provider,
    });
    const warnings = ep.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => String(m.data));
    expect(warnings).toEqual([expect.stringMatching(/matched by AZ ID/)]);
  });

  test('a consumer in another stack of the same account is checked against the provider zones', () => {
    const { app, provider } = providerStack();
    const consumer = new Stack(app, 'Consumer', { env: ENV });
    expect(
      () =>
        new EgressProxyEndpoint(consumer, 'Endpoint', {
          vpc: isolatedVpc(consumer, 'Vpc', 3),
          service: provider,
          subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        }),
    ).toThrow(
      /network interfaces in eu-west-1c, where the proxy service has no load balancer \(it serves eu-west-1a, eu-west-1b\)/,
    );
  });
});

describe('a service in another account, placed by AZ ID', () => {
  // Account B's zones: the names map to other AZ IDs than in any other account.
  const ZONES = [
    { zoneName: 'eu-west-1a', zoneId: 'euw1-az3' },
    { zoneName: 'eu-west-1b', zoneId: 'euw1-az1' },
    { zoneName: 'eu-west-1c', zoneId: 'euw1-az2' },
  ];
  // Account A's load balancer spans euw1-az1 and euw1-az2: B's eu-west-1b and eu-west-1c.
  const SERVED = ['euw1-az1', 'euw1-az2'];

  /** An endpoint in a consumer VPC of `zones` zones, to a service in SERVED, with B's ZONES. */
  function placed(zones: number, props: Partial<EgressProxyEndpointProps> = {}) {
    const { stack } = consumerStack();
    const vpc = isolatedVpc(stack, 'Zones', zones);
    const make = () =>
      new EgressProxyEndpoint(stack, 'Proxy', {
        vpc,
        service: imported(stack, { availabilityZoneIds: SERVED }),
        zoneMappings: ZONES,
        ...props,
      });
    return { stack, make };
  }

  function endpointSubnets(stack: Stack): string[] {
    const endpoint = Object.values(Template.fromStack(stack).findResources('AWS::EC2::VPCEndpoint'))[0];
    return endpoint.Properties.SubnetIds.map((r: { Ref: string }) => r.Ref);
  }

  test('by default, the endpoint goes only into subnets whose AZ ID the service serves', () => {
    const { stack, make } = placed(3);
    make();
    expect(endpointSubnets(stack)).toEqual([
      expect.stringMatching(/^ZonesisolatedSubnet2/),
      expect.stringMatching(/^ZonesisolatedSubnet3/),
    ]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AZ ID'))).toEqual([]);
  });

  test('subnets chosen in a zone the service does not serve fail, naming the zone, its AZ ID and the served AZ IDs', () => {
    expect(placed(3, { subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } }).make).toThrow(
      /^Invalid subnets: the endpoint would have network interfaces in eu-west-1a \(euw1-az3\), where the proxy service has no load balancer \(it serves euw1-az1, euw1-az2\)/,
    );
  });

  test('the same zone names that the provider serves in its own account are not trusted across accounts', () => {
    // A's eu-west-1a/b are not B's: with B's mapping, B's eu-west-1a (euw1-az3) is refused.
    expect(placed(2, { subnets: { availabilityZones: ['eu-west-1a', 'eu-west-1b'] } }).make).toThrow(
      /network interfaces in eu-west-1a \(euw1-az3\)/,
    );
  });

  test('no subnet in a served zone fails', () => {
    expect(placed(1).make).toThrow(
      /^Invalid subnets: no subnet of the selection is in a zone the proxy service serves \(eu-west-1b, eu-west-1c\)/,
    );
  });

  test("zoneMappings without one of the subnets' zones fails, naming the zone", () => {
    expect(placed(3, { zoneMappings: ZONES.slice(0, 2) }).make).toThrow(
      /^Invalid zoneMappings: it has no entry for eu-west-1c/,
    );
  });

  test.each([
    [[{ zoneName: 'eu-west-1a', zoneId: 'eu-west-1a' }], /^Invalid zoneMappings zoneId 'eu-west-1a'/],
    [[{ zoneName: 'euw1-az1', zoneId: 'euw1-az1' }], /^Invalid zoneMappings zoneName 'euw1-az1'/],
    [
      [
        { zoneName: 'eu-west-1a', zoneId: 'euw1-az1' },
        { zoneName: 'eu-west-1b', zoneId: 'euw1-az1' },
      ],
      /^Invalid zoneMappings: zoneId 'euw1-az1' is listed twice/,
    ],
  ])('malformed zoneMappings %j fail, naming zoneMappings', (zoneMappings, error) => {
    const { stack, vpc } = consumerStack();
    expect(
      () =>
        new EgressProxyEndpoint(stack, 'Proxy', {
          vpc,
          service: imported(stack, { availabilityZoneIds: SERVED }),
          zoneMappings,
        }),
    ).toThrow(error);
  });

  test('without zoneMappings the zones are not checked, and synthesis warns', () => {
    const { stack } = consumerStack();
    const vpc = isolatedVpc(stack, 'ThreeZones', 3);
    new EgressProxyEndpoint(stack, 'Proxy', { vpc, service: imported(stack, { availabilityZoneIds: SERVED }) });
    expect(endpointSubnets(stack)).toHaveLength(3);
    Annotations.fromStack(stack).hasWarning('/Consumer/Proxy', Match.stringLikeRegexp('zoneMappings'));
  });

  test('a service in another Region is reached across Regions, with no zone check', () => {
    const { stack, vpc } = consumerStack();
    new EgressProxyEndpoint(stack, 'Proxy', {
      vpc,
      service: imported(stack, {
        serviceName: 'com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0',
        availabilityZoneIds: ['use1-az1'],
      }),
      zoneMappings: ZONES,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: 'com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0',
      ServiceRegion: 'us-east-1',
    });
  });

  test('a service in the same Region gets no ServiceRegion', () => {
    const { stack, vpc } = consumerStack();
    new EgressProxyEndpoint(stack, 'Proxy', { vpc, service: imported(stack) });
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::VPCEndpoint', { ServiceRegion: Match.absent() });
  });
});

describe('cdk-nag acknowledgements of the endpoint', () => {
  function nagFindings(stack: Stack): string[] {
    Aspects.of(stack).add(new AwsSolutionsChecks({ verbose: true }));
    const annotations = Annotations.fromStack(stack);
    return [
      ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ].map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`);
  }

  function securityGroupMetadata(stack: Stack): any {
    const sgs = Template.fromStack(stack).findResources('AWS::EC2::SecurityGroup', {
      Properties: { GroupDescription: 'Clients of the egress proxy endpoint' },
    });
    return Object.values(sgs)[0].Metadata;
  }

  test("the default rule (the VPC's own CIDR, which cdk-nag cannot resolve) is acknowledged for EC23 only", () => {
    const { stack, vpc } = consumerStack();
    new EgressProxyEndpoint(stack, 'Proxy', { vpc, service: imported(stack) });
    expect(securityGroupMetadata(stack)).toEqual({
      cdk_nag: {
        rules_to_suppress: [
          {
            id: 'CdkNagValidationFailure',
            applies_to: ['AwsSolutions-EC23'],
            reason: expect.stringMatching(/consumer VPC's own CIDR/),
          },
        ],
      },
    });
  });

  test('literal CIDRs need no acknowledgement', () => {
    const { stack, vpc } = consumerStack();
    new EgressProxyEndpoint(stack, 'Proxy', {
      vpc,
      service: imported(stack),
      allowedCidrs: ['10.20.0.0/16'],
    });
    expect(securityGroupMetadata(stack)).toBeUndefined();
  });

  test('cdk-nag reports nothing for the default endpoint in a VPC with flow logs', () => {
    const app = new App();
    const stack = new Stack(app, 'Consumer', { env: ENV });
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      availabilityZones: AZS.slice(0, 2),
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
      flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs() } },
    });
    new EgressProxyEndpoint(stack, 'Proxy', {
      vpc,
      service: imported(stack),
      dnsName: 'proxy.egress.internal',
    });
    expect(nagFindings(stack)).toEqual([]);
  });

  test('a world-open CIDR next to the VPC CIDR is not acknowledged: cdk-nag still reports the rule', () => {
    const { stack, vpc } = consumerStack();
    new EgressProxyEndpoint(stack, 'Proxy', {
      vpc,
      service: imported(stack),
      allowedCidrs: [vpc.vpcCidrBlock, '0.0.0.0/0'],
    });
    expect(securityGroupMetadata(stack)).toBeUndefined();
    expect(nagFindings(stack).filter((f) => f.includes('AwsSolutions-EC23'))).toHaveLength(1);
  });

  test('a CIDR token other than the VPC CIDR is not acknowledged', () => {
    const { stack, vpc } = consumerStack();
    const cidr = new CfnParameter(stack, 'VpnCidr', { type: 'String' }).valueAsString;
    new EgressProxyEndpoint(stack, 'Proxy', {
      vpc,
      service: imported(stack),
      allowedCidrs: [cidr],
    });
    expect(securityGroupMetadata(stack)).toBeUndefined();
  });
});
