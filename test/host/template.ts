import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { HostNetwork } from './network';
import { EgressPolicy, EgressProxyProvider } from '../../src';

/** What CloudFormation would have in hand for the proxy instances of one synthesized stack. */
export interface HostTemplate {
  readonly stackName: string;
  readonly stackId: string;
  /** Logical ID of the Auto Scaling group (it carries the metadata and receives the signal). */
  readonly resource: string;
  /** Its metadata, with every intrinsic function resolved as CloudFormation would. */
  readonly metadata: any;
  /** The launch template's user data, resolved and decoded. */
  readonly userData: string;
  /** The instance role's name and its policy statements, resolved. */
  readonly roleName: string;
  readonly roleStatements: any[];
  /** S3 assets the metadata refers to: bucket, key and the file in the cloud assembly. */
  readonly assets: Array<{ bucket: string; key: string; file: string }>;
  /** The raw template. */
  readonly template: any;
}

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const STACK_NAME = 'HostBoot';
const STACK_ID = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${STACK_NAME}/0a1b2c3d-4e5f-6789-abcd-ef0123456789`;

/**
 * Synthesize a provider whose load balancer subnets are the test network's (so the client's
 * address is one the rendered configuration trusts PROXY protocol from), and resolve what the
 * instances read. Deregistration takes 5 s instead of 60 s so reboots and stops are quick.
 */
export function synthesizeHost(net: HostNetwork, allowedDomains: string[], outdir: string): HostTemplate {
  const app = new App({ outdir });
  const stack = new Stack(app, STACK_NAME);
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-12345678',
    vpcCidrBlock: '10.239.0.0/16',
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    privateSubnetIds: ['subnet-aaaaaaaa', 'subnet-bbbbbbbb'],
    privateSubnetIpv4CidrBlocks: [net.loadBalancerSubnet, net.otherLoadBalancerSubnet],
  });
  new EgressProxyProvider(stack, 'Proxy', {
    vpc,
    policy: new EgressPolicy({ allowedDomains }),
    deregistrationDelay: Duration.seconds(5),
  });
  const assembly = app.synth();
  const artifact = assembly.getStackByName(STACK_NAME);
  const template = artifact.template;
  const resources: Record<string, any> = template.Resources;
  const [resource, asg] = only(resources, 'AWS::AutoScaling::AutoScalingGroup');
  const [, launchTemplate] = only(resources, 'AWS::EC2::LaunchTemplate');
  const [roleId] = only(resources, 'AWS::IAM::Role');
  const policy = Object.values(resources).find(
    (r: any) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => x.Ref === roleId),
  );
  const userData = resolve(launchTemplate.Properties.LaunchTemplateData.UserData);
  return {
    stackName: STACK_NAME,
    stackId: STACK_ID,
    resource,
    metadata: resolve(asg.Metadata),
    userData: Buffer.from(userData, 'base64').toString('utf8'),
    roleName: physicalId(roleId),
    roleStatements: resolve(policy.Properties.PolicyDocument.Statement),
    assets: fileAssets(join(outdir, `${STACK_NAME}.assets.json`), outdir),
    template,
  };
}

function only(resources: Record<string, any>, type: string): [string, any] {
  const found = Object.entries(resources).filter(([, r]) => r.Type === type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
}

/** The physical ID CloudFormation would give a resource: a fixed, recognisable name. */
function physicalId(logicalId: string): string {
  return `${STACK_NAME}-${logicalId}-PHYSICAL`;
}

const PSEUDO: Record<string, string> = {
  'AWS::AccountId': ACCOUNT,
  'AWS::Region': REGION,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': STACK_NAME,
  'AWS::StackId': STACK_ID,
};

/** Resolve the intrinsic functions the provider's template uses; anything else is an error. */
function resolve(value: any): any {
  if (Array.isArray(value)) return value.map(resolve);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) return intrinsic(keys[0], value[keys[0]]);
  return Object.fromEntries(keys.map((k) => [k, resolve(value[k])]));
}

function intrinsic(fn: string, arg: any): any {
  switch (fn) {
    case 'Ref':
      return PSEUDO[arg] ?? physicalId(arg);
    case 'Fn::Join':
      return resolve(arg[1]).join(arg[0]);
    case 'Fn::Base64':
      return Buffer.from(String(resolve(arg))).toString('base64');
    case 'Fn::GetAtt':
      return `${physicalId(arg[0])}.${arg[1]}`;
    case 'Fn::Select':
      return resolve(arg[1])[Number(resolve(arg[0]))];
    case 'Fn::Sub': {
      const [text, vars] = Array.isArray(arg) ? [arg[0], resolve(arg[1])] : [arg, {}];
      return String(text).replace(/\$\{([^}]+)\}/g, (_m: string, name: string) => {
        const v = vars[name] ?? PSEUDO[name];
        if (v === undefined) throw new Error(`cannot resolve \${${name}} in Fn::Sub`);
        return v;
      });
    }
    default:
      throw new Error(`the boot test cannot resolve ${fn}`);
  }
}

/** File assets from the stack's asset manifest: where the bucket and key are, and the local file. */
function fileAssets(manifestPath: string, outdir: string): Array<{ bucket: string; key: string; file: string }> {
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  return Object.values<any>(manifest.files ?? {}).flatMap((f) =>
    Object.values<any>(f.destinations).map((d) => ({
      bucket: intrinsic('Fn::Sub', d.bucketName),
      key: d.objectKey,
      file: join(outdir, f.source.path),
    })),
  );
}
