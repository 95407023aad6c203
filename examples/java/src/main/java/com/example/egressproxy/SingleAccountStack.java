package com.example.egressproxy;

import io.github.cdkprivateegressproxy.PrivateEgressProxy;
import java.util.List;
import software.amazon.awscdk.CfnOutput;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.StackProps;
import software.amazon.awscdk.services.ec2.Instance;
import software.amazon.awscdk.services.ec2.SubnetConfiguration;
import software.amazon.awscdk.services.ec2.SubnetSelection;
import software.amazon.awscdk.services.ec2.SubnetType;
import software.amazon.awscdk.services.ec2.Vpc;
import software.constructs.Construct;

/** (a) The seed's topology: proxy subnets with a NAT route, clients in isolated subnets. */
public class SingleAccountStack extends Stack {
  private final PrivateEgressProxy egress;
  private final Instance agent;

  public SingleAccountStack(Construct scope, String id, StackProps props) {
    super(scope, id, props);
    Vpc vpc =
        Vpc.Builder.create(this, "Vpc")
            .maxAzs(2)
            .natGateways(2)
            .restrictDefaultSecurityGroup(false)
            .flowLogs(ExampleSettings.exampleFlowLogs())
            .subnetConfiguration(
                List.of(
                    SubnetConfiguration.builder().name("public").subnetType(SubnetType.PUBLIC).build(),
                    SubnetConfiguration.builder().name("proxy").subnetType(SubnetType.PRIVATE_WITH_EGRESS).build(),
                    SubnetConfiguration.builder().name("clients").subnetType(SubnetType.PRIVATE_ISOLATED).build()))
            .build();
    egress =
        PrivateEgressProxy.Builder.create(this, "Egress")
            .vpc(vpc)
            .allowedDomains(ExampleSettings.ALLOWED)
            .consumerSubnets(SubnetSelection.builder().subnetType(SubnetType.PRIVATE_ISOLATED).build())
            .build();
    agent = ExampleSettings.buildAgent(this, vpc);
    egress.getEndpoint().configureInstance(agent);
    CfnOutput.Builder.create(this, "ProxyUrl")
        .value(egress.getProxyUrl())
        .description("HTTPS_PROXY for clients")
        .build();
    CfnOutput.Builder.create(this, "ExportCommand")
        .value(egress.getEndpoint().getClientSettings().exportCommand())
        .description("Paste into a shell to send the AWS CLI and SDKs through the proxy")
        .build();
  }

  public PrivateEgressProxy getEgress() {
    return egress;
  }

  /** The build agent in the closed subnets, sent through the proxy. */
  public Instance getAgent() {
    return agent;
  }
}
