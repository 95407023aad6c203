import { Fn, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { acknowledgeTemplateChecks } from './nag';
import { checkParameterPrefix } from './validation';

/** What {@link publishEndpointService} needs. */
export interface EndpointServiceOptions {
  readonly loadBalancer: elbv2.INetworkLoadBalancer;
  /** The load balancer's subnets (one per zone). */
  readonly subnets: ec2.ISubnet[];
  /** The proxy port (published with the other attributes). */
  readonly port: number;
  readonly allowedPrincipals?: iam.ArnPrincipal[];
  readonly allowedAccounts?: string[];
  readonly allowedRegions?: string[];
  readonly acceptanceRequired?: boolean;
  readonly serviceNameParameterName?: string;
  readonly ssmParameterPrefix?: string;
}

/** The published service. */
export interface PublishedEndpointService {
  readonly endpointService: ec2.VpcEndpointService;
  /** The AZ IDs of the load balancer's zones (deploy-time values), when every subnet is known. */
  readonly availabilityZoneIds?: string[];
  readonly serviceNameParameter?: ssm.IStringParameter;
}

/** The SSM parameters written under `ssmParameterPrefix`, by name below the prefix. */
export const SERVICE_PARAMETERS = {
  serviceName: 'service-name',
  port: 'port',
  region: 'region',
  availabilityZoneIds: 'availability-zone-ids',
} as const;

/**
 * The PrivateLink endpoint service in front of the load balancer: the given principals and
 * accounts (only this stack's account when neither is given), acceptance required by default,
 * and the attributes a consumer needs in SSM parameters when asked.
 */
export function publishEndpointService(scope: Construct, options: EndpointServiceOptions): PublishedEndpointService {
  checkParameterNames(options);
  const stack = Stack.of(scope);
  const principals = [
    ...(options.allowedPrincipals ?? []),
    ...(options.allowedAccounts ?? []).map((a) => new iam.ArnPrincipal(`arn:${stack.partition}:iam::${a}:root`)),
  ];
  if (options.allowedPrincipals === undefined && options.allowedAccounts === undefined) {
    principals.push(new iam.ArnPrincipal(`arn:${stack.partition}:iam::${stack.account}:root`));
  }
  const endpointService = new ec2.VpcEndpointService(scope, 'EndpointService', {
    vpcEndpointServiceLoadBalancers: [options.loadBalancer],
    acceptanceRequired: options.acceptanceRequired ?? true,
    allowedPrincipals: principals,
    allowedRegions: options.allowedRegions,
  });
  if (
    options.acceptanceRequired === false &&
    principals.length === 1 &&
    options.allowedAccounts === undefined &&
    options.allowedPrincipals === undefined
  ) {
    acknowledgeTemplateChecks(
      endpointService.node.children.find((c) => c instanceof ec2.CfnVPCEndpointService)!,
      [
        {
          id: 'CKV_AWS_123',
          reason:
            "The service admits only its own account's root, whose endpoint the same construct creates: no one else to accept.",
        },
      ],
    );
  }
  const availabilityZoneIds = zoneIdsOf(options.subnets);
  let serviceNameParameter: ssm.IStringParameter | undefined;
  if (options.serviceNameParameterName !== undefined) {
    serviceNameParameter = new ssm.StringParameter(scope, 'ServiceNameParameter', {
      parameterName: options.serviceNameParameterName,
      stringValue: endpointService.vpcEndpointServiceName,
      description: 'Service name of the egress proxy VPC endpoint service',
    });
  }
  if (options.ssmParameterPrefix !== undefined) {
    writeServiceParameters(scope, options.ssmParameterPrefix, {
      serviceName: endpointService.vpcEndpointServiceName,
      port: String(options.port),
      region: stack.region,
      availabilityZoneIds,
    });
  }
  return { endpointService, availabilityZoneIds, serviceNameParameter };
}

/**
 * The AZ ID of each subnet, from CloudFormation's `AvailabilityZoneId` attribute of the subnets
 * this app creates; undefined when a subnet was imported (its AZ ID is unknown here).
 */
function zoneIdsOf(subnets: ec2.ISubnet[]): string[] | undefined {
  const resources = subnets.map((s) => s.node.defaultChild);
  if (resources.length === 0 || !resources.every((r): r is ec2.CfnSubnet => r instanceof ec2.CfnSubnet)) {
    return undefined;
  }
  return resources.map((r) => r.attrAvailabilityZoneId);
}

function writeServiceParameters(
  scope: Construct,
  prefix: string,
  values: { serviceName: string; port: string; region: string; availabilityZoneIds?: string[] },
): void {
  const parameters = new Construct(scope, 'ServiceParameters');
  const text: Array<[string, string, string]> = [
    ['ServiceName', SERVICE_PARAMETERS.serviceName, values.serviceName],
    ['Port', SERVICE_PARAMETERS.port, values.port],
    ['Region', SERVICE_PARAMETERS.region, values.region],
  ];
  for (const [id, name, value] of text) {
    new ssm.StringParameter(parameters, id, {
      parameterName: `${prefix}/${name}`,
      stringValue: value,
      description: `Egress proxy endpoint service: ${name}`,
    });
  }
  if (values.availabilityZoneIds !== undefined) {
    // A StringList, built at deploy time from the subnets' AvailabilityZoneId attributes.
    new ssm.CfnParameter(parameters, 'AvailabilityZoneIds', {
      name: `${prefix}/${SERVICE_PARAMETERS.availabilityZoneIds}`,
      type: 'StringList',
      value: Fn.join(',', values.availabilityZoneIds),
      description: `Egress proxy endpoint service: ${SERVICE_PARAMETERS.availabilityZoneIds}`,
    });
  }
}

function checkParameterNames(options: EndpointServiceOptions): void {
  const prefix = options.ssmParameterPrefix;
  if (prefix === undefined || Token.isUnresolved(prefix)) return;
  checkParameterPrefix('ssmParameterPrefix', prefix);
  if (zoneIdsOf(options.subnets) === undefined) {
    throw new Error(
      `Invalid ssmParameterPrefix '${prefix}': the load balancer's subnets were imported, so their AZ IDs are unknown and ` +
        `${prefix}/${SERVICE_PARAMETERS.availabilityZoneIds} cannot be written; select subnets this app creates, or publish the attributes yourself`,
    );
  }
  const clash = Object.values(SERVICE_PARAMETERS).find((n) => `${prefix}/${n}` === options.serviceNameParameterName);
  if (clash !== undefined) {
    throw new Error(
      `Invalid serviceNameParameterName '${options.serviceNameParameterName}': ssmParameterPrefix already writes that parameter; leave serviceNameParameterName out`,
    );
  }
}
