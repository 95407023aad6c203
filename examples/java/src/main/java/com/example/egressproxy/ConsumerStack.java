package com.example.egressproxy;

import io.github.cdkprivateegressproxy.AvailabilityZoneMapping;
import io.github.cdkprivateegressproxy.EgressProxyEndpoint;
import io.github.cdkprivateegressproxy.EgressProxyService;
import io.github.cdkprivateegressproxy.EgressProxyServiceAttributes;
import io.github.cdkprivateegressproxy.IEgressProxyService;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;
import software.amazon.awscdk.CfnOutput;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.StackProps;
import software.amazon.awscdk.services.ec2.Instance;
import software.amazon.awscdk.services.ec2.IpAddresses;
import software.amazon.awscdk.services.ec2.SubnetConfiguration;
import software.amazon.awscdk.services.ec2.SubnetType;
import software.amazon.awscdk.services.ec2.Vpc;
import software.constructs.Construct;

/** (b2) Account B: a closed VPC whose clients reach AWS only through account A's proxy. */
public class ConsumerStack extends Stack {
  private final EgressProxyEndpoint endpoint;
  private final Instance agent;

  /** With account A's service from the attributes in ExampleSettings (the provider's outputs). */
  public ConsumerStack(Construct scope, String id, StackProps props) {
    this(
        scope,
        id,
        props,
        stack ->
            EgressProxyService.fromServiceAttributes(
                stack,
                "ProxyService",
                EgressProxyServiceAttributes.builder()
                    .serviceName(ExampleSettings.PROVIDER_SERVICE_NAME)
                    .availabilityZoneIds(ExampleSettings.PROVIDER_AZ_IDS)
                    .build()));
  }

  /** With `service` telling how account B finds account A's service. */
  public ConsumerStack(
      Construct scope, String id, StackProps props, Function<Construct, IEgressProxyService> service) {
    super(scope, id, props);
    // All of account B's zones by name (literal, so they can be mapped to AZ IDs; no lookup).
    Vpc vpc =
        Vpc.Builder.create(this, "Vpc")
            .ipAddresses(IpAddresses.cidr("10.20.0.0/16"))
            .availabilityZones(
                ExampleSettings.CONSUMER_ZONES.stream()
                    .map(AvailabilityZoneMapping::getZoneName)
                    .collect(Collectors.toList()))
            .natGateways(0)
            .restrictDefaultSecurityGroup(false)
            .flowLogs(ExampleSettings.exampleFlowLogs())
            .subnetConfiguration(
                List.of(SubnetConfiguration.builder().name("clients").subnetType(SubnetType.PRIVATE_ISOLATED).build()))
            .build();
    // The endpoint goes only into the zones whose AZ IDs account A serves.
    endpoint =
        EgressProxyEndpoint.Builder.create(this, "Proxy")
            .vpc(vpc)
            .service(service.apply(this))
            .zoneMappings(ExampleSettings.CONSUMER_ZONES)
            .dnsName("proxy.egress.internal")
            .allowedCidrs(List.of("10.20.0.0/16", "192.168.0.0/16")) // the VPC, and a data centre over VPN
            .build();
    agent = ExampleSettings.buildAgent(this, vpc);
    endpoint.configureInstance(agent);
    CfnOutput.Builder.create(this, "EndpointId")
        .value(endpoint.getEndpointId())
        .description("The vpce-id account A accepts")
        .build();
    CfnOutput.Builder.create(this, "ProxyUrl")
        .value(endpoint.getProxyUrl())
        .description("HTTPS_PROXY for clients")
        .build();
  }

  public EgressProxyEndpoint getEndpoint() {
    return endpoint;
  }

  /** The build agent in the closed subnets, sent through the proxy. */
  public Instance getAgent() {
    return agent;
  }
}
