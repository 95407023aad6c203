import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { EgressPolicy } from '../egress-policy';
import { healthCheckPortFor } from './proxy-host';

/** The two security groups of the provider. */
export interface ProxySecurityGroups {
  /** The load balancer's: clients in, the proxy port out to the instances. */
  readonly loadBalancer: ec2.SecurityGroup;
  /** The instances': the proxy port from the load balancer only; out on the policy's ports. */
  readonly instances: ec2.SecurityGroup;
}

/**
 * The load balancer's and the instances' security groups. The instances admit the proxy port and
 * the health-check port from the load balancer only (anyone else could forge a PROXY protocol
 * header), and reach out only on the policy's ports and HTTPS (the AWS APIs the instances use:
 * SSM, CloudFormation, CloudWatch Logs, S3, the Amazon Linux package repositories).
 */
export function createSecurityGroups(
  scope: Construct,
  vpc: ec2.IVpc,
  port: number,
  policy: EgressPolicy,
): ProxySecurityGroups {
  const loadBalancer = new ec2.SecurityGroup(scope, 'LoadBalancerSecurityGroup', {
    vpc,
    description: 'Egress proxy load balancer: clients in, proxy port out to the instances',
    allowAllOutbound: false,
  });
  const instances = new ec2.SecurityGroup(scope, 'InstanceSecurityGroup', {
    vpc,
    description: 'Egress proxy instances: proxy port from the load balancer only',
    allowAllOutbound: false,
  });
  instances.connections.allowFrom(
    loadBalancer,
    ec2.Port.tcp(port),
    'Proxy traffic from the egress proxy load balancer',
  );
  instances.connections.allowFrom(
    loadBalancer,
    ec2.Port.tcp(healthCheckPortFor(port)),
    'Health checks from the egress proxy load balancer',
  );
  const egressPorts = new Set([443, ...policy.ports, ...(policy.allowPlainHttp ? [80] : [])]);
  for (const p of [...egressPorts].sort((a, b) => a - b)) {
    instances.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(p), `Egress to allowed destinations on ${p}`);
    instances.addEgressRule(ec2.Peer.anyIpv6(), ec2.Port.tcp(p), `Egress to allowed destinations on ${p}`);
  }
  return { loadBalancer, instances };
}
