import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';

/** What {@link publishEndpointService} needs. */
export interface EndpointServiceOptions {
  readonly loadBalancer: elbv2.INetworkLoadBalancer;
  readonly allowedPrincipals?: iam.ArnPrincipal[];
  readonly allowedAccounts?: string[];
  readonly allowedRegions?: string[];
  readonly acceptanceRequired?: boolean;
  readonly serviceNameParameterName?: string;
}

/** The published service. */
export interface PublishedEndpointService {
  readonly endpointService: ec2.VpcEndpointService;
  readonly serviceNameParameter?: ssm.IStringParameter;
}

/**
 * The PrivateLink endpoint service in front of the load balancer: the given principals and
 * accounts (only this stack's account when neither is given), acceptance required by default,
 * and the service name in SSM when asked.
 */
export function publishEndpointService(scope: Construct, options: EndpointServiceOptions): PublishedEndpointService {
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
  let serviceNameParameter: ssm.IStringParameter | undefined;
  if (options.serviceNameParameterName !== undefined) {
    serviceNameParameter = new ssm.StringParameter(scope, 'ServiceNameParameter', {
      parameterName: options.serviceNameParameterName,
      stringValue: endpointService.vpcEndpointServiceName,
      description: 'Service name of the egress proxy VPC endpoint service',
    });
  }
  return { endpointService, serviceNameParameter };
}
