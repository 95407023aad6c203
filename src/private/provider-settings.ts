import { Duration, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { EgressProxyProviderProps } from '../egress-proxy-provider';
import { checkDnsServers } from './dns-servers';
import { vcpusOfInstanceType } from './instance-size';
import { REGION_NAME } from './validation';

/** The provider's props, validated and with every default filled in. */
export interface ProviderSettings {
  readonly port: number;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly desiredCapacity?: number;
  readonly targetCpuUtilizationPercent: number;
  readonly deregistrationDelay: Duration;
  readonly idleTimeout: Duration;
  readonly deniedRequestsAlarmThreshold: number;
  readonly instanceType: ec2.InstanceType;
  readonly machineImage: ec2.IMachineImage;
  readonly squidWorkers: number;
  readonly proxyProtocol: boolean;
  /** DNS servers Squid resolves with; undefined: the VPC resolver. */
  readonly dnsServers?: string[];
}

/**
 * Check every scalar prop of an `EgressProxyProvider` and fill in the defaults. Each error names
 * the prop as API.md spells it, the bad value and the rule it broke.
 */
export function resolveProviderSettings(props: EgressProxyProviderProps): ProviderSettings {
  const port = props.port ?? 3128;
  wholeNumber('port', port, 1, 65535, 'the proxy port must be a whole number from 1 to 65535');
  checkServiceProps(props);
  const instanceType = props.instanceType ?? new ec2.InstanceType('c7gn.medium');
  const squidWorkers = props.squidWorkers ?? Math.min(vcpusOfInstanceType(instanceType.toString()) ?? 1, 64);
  wholeNumber('squidWorkers', squidWorkers, 1, 64, 'expected a whole number from 1 to 64');
  const deniedRequestsAlarmThreshold = props.deniedRequestsAlarmThreshold ?? 100;
  if (!(deniedRequestsAlarmThreshold >= 1)) {
    throw new Error(`Invalid deniedRequestsAlarmThreshold ${deniedRequestsAlarmThreshold}: expected at least 1`);
  }
  return {
    ...resolveCapacity(props),
    ...resolveTimings(props),
    port,
    deniedRequestsAlarmThreshold,
    instanceType,
    machineImage: props.machineImage ?? defaultImage(instanceType),
    squidWorkers,
    proxyProtocol: resolveProxyProtocol(props),
    dnsServers: checkDnsServers(props.dnsServers),
  };
}

function resolveCapacity(
  props: EgressProxyProviderProps,
): Pick<ProviderSettings, 'minCapacity' | 'maxCapacity' | 'desiredCapacity' | 'targetCpuUtilizationPercent'> {
  const minCapacity = props.minCapacity ?? 2;
  const maxCapacity = props.maxCapacity ?? Math.max(4, minCapacity);
  const desiredCapacity = props.desiredCapacity;
  for (const [name, value] of [
    ['minCapacity', minCapacity],
    ['maxCapacity', maxCapacity],
    ['desiredCapacity', desiredCapacity],
  ] as Array<[string, number | undefined]>) {
    if (value !== undefined) wholeNumber(name, value, 1, Infinity, 'expected a whole number of at least 1');
  }
  if (minCapacity > maxCapacity) {
    throw new Error(`Invalid minCapacity ${minCapacity}: it is above maxCapacity ${maxCapacity}`);
  }
  if (desiredCapacity !== undefined && (desiredCapacity < minCapacity || desiredCapacity > maxCapacity)) {
    throw new Error(
      `Invalid desiredCapacity ${desiredCapacity}: it must lie between minCapacity ${minCapacity} and maxCapacity ${maxCapacity}`,
    );
  }
  const targetCpuUtilizationPercent = props.targetCpuUtilizationPercent ?? 50;
  if (!(targetCpuUtilizationPercent > 0 && targetCpuUtilizationPercent <= 100)) {
    throw new Error(
      `Invalid targetCpuUtilizationPercent ${targetCpuUtilizationPercent}: expected a percentage above 0 and at most 100`,
    );
  }
  return { minCapacity, maxCapacity, desiredCapacity, targetCpuUtilizationPercent };
}

function resolveTimings(
  props: EgressProxyProviderProps,
): Pick<ProviderSettings, 'deregistrationDelay' | 'idleTimeout'> {
  const deregistrationDelay = props.deregistrationDelay ?? Duration.seconds(60);
  const delay = deregistrationDelay.toSeconds();
  wholeNumber('deregistrationDelay', delay, 0, 3600, 'the load balancer accepts 0 to 3600 whole seconds', ' s');
  const idleTimeout = props.idleTimeout ?? Duration.seconds(350);
  const idle = idleTimeout.toSeconds();
  wholeNumber('idleTimeout', idle, 60, 6000, 'the load balancer accepts 60 to 6000 whole seconds', ' s');
  return { deregistrationDelay, idleTimeout };
}

function checkServiceProps(props: EgressProxyProviderProps): void {
  for (const account of props.allowedAccounts ?? []) {
    if (!Token.isUnresolved(account) && !/^\d{12}$/.test(account)) {
      throw new Error(`Invalid allowedAccounts entry '${account}': an AWS account ID is 12 digits`);
    }
  }
  for (const region of props.allowedRegions ?? []) {
    if (!Token.isUnresolved(region) && !REGION_NAME.test(region)) {
      throw new Error(`Invalid allowedRegions entry '${region}': expected a Region name such as 'eu-west-1'`);
    }
  }
  const name = props.serviceNameParameterName;
  if (name !== undefined && !Token.isUnresolved(name) && !/^\/?[A-Za-z0-9_.\-/]+$/.test(name)) {
    throw new Error(
      `Invalid serviceNameParameterName '${name}': SSM parameter names use letters, digits, '.', '-', '_' and '/'`,
    );
  }
}

/** The latest Amazon Linux 2023 for the instance type's architecture, from its public SSM parameter. */
function defaultImage(instanceType: ec2.InstanceType): ec2.IMachineImage {
  return ec2.MachineImage.latestAmazonLinux2023({
    cpuType:
      instanceType.architecture === ec2.InstanceArchitecture.ARM_64
        ? ec2.AmazonLinuxCpuType.ARM_64
        : ec2.AmazonLinuxCpuType.X86_64,
  });
}

/**
 * PROXY protocol (on by default). The policy's source and endpoint checks judge the client identity
 * it carries: behind the load balancer every connection comes from the load balancer itself.
 */
function resolveProxyProtocol(props: EgressProxyProviderProps): boolean {
  const proxyProtocol = props.proxyProtocol ?? true;
  const policy = props.policy;
  if (!proxyProtocol && (policy.sourceCidrs.length > 0 || policy.allowedEndpointIds.length > 0)) {
    throw new Error(
      'Invalid proxyProtocol false: the policy sets ' +
        (policy.sourceCidrs.length > 0 ? 'sourceCidrs' : 'allowedEndpointIds') +
        ', which the proxy judges on the client identity that PROXY protocol v2 carries (behind the load balancer every ' +
        'connection comes from its own addresses). Leave proxyProtocol on, or remove sourceCidrs and allowedEndpointIds from the policy',
    );
  }
  return proxyProtocol;
}

function wholeNumber(prop: string, value: number, min: number, max: number, rule: string, unit = ''): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`Invalid ${prop} ${value}${unit}: ${rule}`);
  }
}
