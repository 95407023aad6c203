/**
 * The library's cfn-lint and checkov acknowledgements sit next to the resources they concern, in
 * each tool's metadata format (docs/TEMPLATE-CHECKS.md), and only where the check does not apply.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { EgressPolicy, EgressProxyProvider, PrivateEgressProxy } from '../src';
import { acknowledgeTemplateChecks } from '../src/private/nag';

const ENV = { account: '111111111111', region: 'eu-west-1' };
const DOMAINS = ['sts.eu-west-1.amazonaws.com'];

function resourceOf(template: Template, type: string): any {
  const all = Object.values(template.findResources(type));
  expect(all).toHaveLength(1);
  return all[0];
}

function l3(): Template {
  const stack = new Stack(new App(), 'Stack', { env: ENV });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, restrictDefaultSecurityGroup: false });
  new PrivateEgressProxy(stack, 'Egress', { vpc, allowedDomains: DOMAINS });
  return Template.fromStack(stack);
}

function provider(): Template {
  const stack = new Stack(new App(), 'Stack', { env: ENV });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1, restrictDefaultSecurityGroup: false });
  new EgressProxyProvider(stack, 'Proxy', {
    vpc,
    policy: new EgressPolicy({ allowedDomains: DOMAINS }),
    allowedAccounts: ['222222222222'],
    acceptanceRequired: false,
  });
  return Template.fromStack(stack);
}

test('the Auto Scaling group tells cfn-lint to skip E3009 (cfn-init argv commands), with the reason', () => {
  const config = resourceOf(l3(), 'AWS::AutoScaling::AutoScalingGroup').Metadata['cfn-lint'].config;
  expect(config.ignore_checks).toEqual(['E3009']);
  expect(config.ignore_reasons.E3009).toMatch(/array/);
});

test('the load balancer and the log group carry checkov skips with comments', () => {
  const template = l3();
  expect(resourceOf(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer').Metadata.checkov.skip).toEqual([
    { id: 'CKV_AWS_91', comment: expect.stringMatching(/TLS listeners only/) },
  ]);
  expect(resourceOf(template, 'AWS::Logs::LogGroup').Metadata.checkov.skip).toEqual([
    { id: 'CKV_AWS_158', comment: expect.stringMatching(/encrypts/) },
  ]);
});

test('manual acceptance (CKV_AWS_123) is acknowledged only for a service that admits nothing but its own account', () => {
  expect(resourceOf(l3(), 'AWS::EC2::VPCEndpointService').Metadata.checkov.skip).toEqual([
    { id: 'CKV_AWS_123', comment: expect.stringMatching(/own account/) },
  ]);
  // A provider that admits another account without acceptance keeps the finding.
  expect(resourceOf(provider(), 'AWS::EC2::VPCEndpointService').Metadata?.checkov).toBeUndefined();
});

test('acknowledgements accumulate, and a construct without a CloudFormation resource is refused by path', () => {
  const stack = new Stack();
  const sg = new ec2.CfnSecurityGroup(stack, 'Sg', { groupDescription: 'x' });
  acknowledgeTemplateChecks(sg, [{ id: 'W1', reason: 'first reason here' }]);
  acknowledgeTemplateChecks(sg, [
    { id: 'W2', reason: 'second reason here' },
    { id: 'CKV_AWS_1', reason: 'a checkov reason' },
  ]);
  expect(sg.getMetadata('cfn-lint').config.ignore_checks).toEqual(['W1', 'W2']);
  expect(sg.getMetadata('checkov').skip).toEqual([{ id: 'CKV_AWS_1', comment: 'a checkov reason' }]);
  expect(() => acknowledgeTemplateChecks(new Construct(stack, 'Empty'), [{ id: 'W1', reason: 'x' }])).toThrow(
    /Default\/Empty: it is not a CloudFormation resource/,
  );
});
