import { Duration } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { acknowledgeNagFindings, acknowledgeTemplateChecks } from './nag';
import { healthCheckPortFor } from './proxy-host';

/** What {@link createLoadBalancer} needs. */
export interface LoadBalancerOptions {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly fleet: autoscaling.AutoScalingGroup;
  readonly port: number;
  readonly proxyProtocol: boolean;
  readonly deregistrationDelay: Duration;
  readonly idleTimeout: Duration;
}

/** The load balancer in front of the fleet. */
export interface ProxyLoadBalancer {
  readonly targetGroup: elbv2.NetworkTargetGroup;
  readonly loadBalancer: elbv2.NetworkLoadBalancer;
  readonly listener: elbv2.NetworkListener;
}

/**
 * An internal Network Load Balancer with cross-zone balancing, a TCP listener on the proxy port,
 * and a target group that sends PROXY protocol v2 (the client's address and VPC endpoint ID) and
 * checks health over TCP (a forward proxy answers no HTTP health check with 2xx) on its own port,
 * which reaches Squid past the instances' connection cap.
 */
export function createLoadBalancer(scope: Construct, options: LoadBalancerOptions): ProxyLoadBalancer {
  const targetGroup = new elbv2.NetworkTargetGroup(scope, 'TargetGroup', {
    vpc: options.vpc,
    port: options.port,
    protocol: elbv2.Protocol.TCP,
    targetType: elbv2.TargetType.INSTANCE,
    proxyProtocolV2: options.proxyProtocol,
    // The load balancer's own address is the peer; the client travels in PROXY protocol.
    preserveClientIp: false,
    deregistrationDelay: options.deregistrationDelay,
    healthCheck: {
      enabled: true,
      protocol: elbv2.Protocol.TCP,
      port: String(healthCheckPortFor(options.port)),
      interval: Duration.seconds(10),
      healthyThresholdCount: 2,
      unhealthyThresholdCount: 2,
    },
    targets: [options.fleet],
  });
  const loadBalancer = new elbv2.NetworkLoadBalancer(scope, 'LoadBalancer', {
    vpc: options.vpc,
    vpcSubnets: options.subnets,
    internetFacing: false,
    crossZoneEnabled: true,
    securityGroups: [options.securityGroup],
    enforceSecurityGroupInboundRulesOnPrivateLinkTraffic: false,
  });
  acknowledgeNagFindings(loadBalancer, [
    {
      id: 'AwsSolutions-ELB2',
      reason:
        'NLB access logs cover TLS listeners only; this TCP listener is logged by Squid itself, request by request.',
    },
  ]);
  acknowledgeTemplateChecks(loadBalancer, [
    {
      id: 'CKV_AWS_91',
      reason:
        'NLB access logs cover TLS listeners only; this TCP listener is logged by Squid itself, request by request.',
    },
  ]);
  const listener = loadBalancer.addListener('Listener', {
    port: options.port,
    protocol: elbv2.Protocol.TCP,
    defaultTargetGroups: [targetGroup],
    tcpIdleTimeout: options.idleTimeout,
  });
  return { targetGroup, loadBalancer, listener };
}
