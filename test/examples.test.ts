import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildExampleApp, ConsumerStack, ProviderStack, SingleAccountStack } from '../examples/app';

/** The example app, synthesised once with cdk-nag's AwsSolutions checks over every stack. */
function exampleApp() {
  const app = new App();
  const stacks = buildExampleApp(app);
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  const assembly = app.synth();
  return { app, stacks, assembly };
}

const { stacks, assembly } = exampleApp();

test('builds the single-account, provider and consumer stacks', () => {
  expect(stacks.map((s) => s.constructor)).toEqual([SingleAccountStack, ProviderStack, ConsumerStack]);
  expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(
    ['EgressProxyConsumer', 'EgressProxyProvider', 'EgressProxySingleAccount'].sort(),
  );
});

test('needs no context lookups', () => {
  expect(assembly.manifest.missing ?? []).toEqual([]);
});

test.each(stacks.map((s) => [s.stackName, s] as [string, Stack]))(
  'cdk-nag AwsSolutions reports nothing unacknowledged in %s',
  (_name, stack) => {
    const annotations = Annotations.fromStack(stack);
    const findings = [
      ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ].map((m) => `${m.id}: ${String(m.entry.data).slice(0, 200)}`);
    expect(findings).toEqual([]);
  },
);

test.each(stacks.map((s) => [s.stackName, s] as [string, Stack]))('every VPC of %s has flow logs', (_name, stack) => {
  const template = Template.fromStack(stack);
  const vpcs = Object.keys(template.findResources('AWS::EC2::VPC'));
  expect(vpcs.length).toBeGreaterThan(0);
  for (const vpc of vpcs) {
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceId: { Ref: vpc },
      ResourceType: 'VPC',
      TrafficType: 'ALL',
    });
  }
});

test('the single-account stack runs the fleet from a launch template, with no launch configuration', () => {
  const template = Template.fromStack(stacks[0]);
  template.resourceCountIs('AWS::AutoScaling::LaunchConfiguration', 0);
  template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { LaunchTemplate: Match.objectLike({}) });
});

test("the single-account stack's clients reach the proxy from the isolated subnets", () => {
  Template.fromStack(stacks[0]).hasResourceProperties('AWS::EC2::VPCEndpoint', {
    SubnetIds: [
      { Ref: Match.stringLikeRegexp('^VpcclientsSubnet1') },
      { Ref: Match.stringLikeRegexp('^VpcclientsSubnet2') },
    ],
  });
});

test('the single-account stack sends its build agent through the proxy and outputs the proxy URL', () => {
  const template = Template.fromStack(stacks[0]);
  template.hasResourceProperties('AWS::EC2::Instance', {
    SubnetId: { Ref: Match.stringLikeRegexp('^VpcclientsSubnet1') },
    UserData: { 'Fn::Base64': Match.stringLikeRegexp('export HTTPS_PROXY=http://proxy.egress.internal:3128') },
  });
  template.hasOutput('ProxyUrl', { Value: 'http://proxy.egress.internal:3128' });
});

test('the single-account allowlist keeps Session Manager working through the proxy', () => {
  for (const host of [
    'ssm.eu-west-1.amazonaws.com',
    'ssmmessages.eu-west-1.amazonaws.com',
    'ec2messages.eu-west-1.amazonaws.com',
  ]) {
    expect((stacks[0] as SingleAccountStack).egress.policy.evaluate({ host }).allowed).toBe(true);
  }
});

test('the provider stack offers the service to the consumer account and publishes its attributes in SSM', () => {
  const template = Template.fromStack(stacks[1]);
  template.resourceCountIs('AWS::AutoScaling::LaunchConfiguration', 0);
  template.hasResourceProperties('AWS::EC2::VPCEndpointService', { AcceptanceRequired: true });
  template.hasResourceProperties('AWS::EC2::VPCEndpointServicePermissions', {
    AllowedPrincipals: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:root']] }],
  });
  for (const name of ['service-name', 'port', 'region']) {
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: `/egress-proxy/${name}`, Type: 'String' });
  }
  template.hasResourceProperties('AWS::SSM::Parameter', {
    Name: '/egress-proxy/availability-zone-ids',
    Type: 'StringList',
  });
});

test("the provider stack outputs what account B needs and the command that accepts B's endpoint", () => {
  const outputs = Template.fromStack(stacks[1]).findOutputs('*');
  expect(Object.keys(outputs).sort()).toEqual([
    'AcceptCommand',
    'AvailabilityZoneIds',
    'Port',
    'Region',
    'ServiceName',
  ]);
  expect(JSON.stringify(outputs.AcceptCommand.Value)).toContain(
    'aws ec2 accept-vpc-endpoint-connections --service-id ',
  );
  expect(JSON.stringify(outputs.AvailabilityZoneIds.Value)).toContain('AvailabilityZoneId');
});

test('the consumer stack imports the service by its attributes and places the endpoint by AZ ID', () => {
  const template = Template.fromStack(stacks[2]);
  // The placeholder provider serves all three AZ IDs of eu-west-1, so every zone of B qualifies.
  template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
    ServiceName: 'com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0',
    SubnetIds: [
      { Ref: Match.stringLikeRegexp('^VpcclientsSubnet1') },
      { Ref: Match.stringLikeRegexp('^VpcclientsSubnet2') },
      { Ref: Match.stringLikeRegexp('^VpcclientsSubnet3') },
    ],
  });
  template.hasResourceProperties('AWS::EC2::SecurityGroup', {
    GroupDescription: 'Clients of the egress proxy endpoint',
    SecurityGroupIngress: Match.arrayWith([
      Match.objectLike({ CidrIp: '10.20.0.0/16', FromPort: 3128 }),
      Match.objectLike({ CidrIp: '192.168.0.0/16', FromPort: 3128 }),
    ]),
  });
  expect(Annotations.fromStack(stacks[2]).findWarning('*', Match.stringLikeRegexp('AZ ID'))).toEqual([]);
});
