package com.example.egressproxy;

import io.github.cdkprivateegressproxy.EgressPolicy;
import io.github.cdkprivateegressproxy.EgressProxyProvider;
import java.util.List;
import java.util.Optional;
import software.amazon.awscdk.CfnOutput;
import software.amazon.awscdk.Fn;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.StackProps;
import software.amazon.awscdk.services.ec2.Vpc;
import software.constructs.Construct;

/** (b1) Account A: the proxy, offered to account B, with its attributes in outputs and SSM. */
public class ProviderStack extends Stack {
  private final EgressProxyProvider provider;

  public ProviderStack(Construct scope, String id, StackProps props) {
    super(scope, id, props);
    // Every zone of the Region (eu-west-1 has three), by name.
    Vpc vpc =
        Vpc.Builder.create(this, "Vpc")
            .availabilityZones(List.of("eu-west-1a", "eu-west-1b", "eu-west-1c"))
            .natGateways(3)
            .restrictDefaultSecurityGroup(false)
            .flowLogs(ExampleSettings.exampleFlowLogs())
            .build();
    provider =
        EgressProxyProvider.Builder.create(this, "Proxy")
            .vpc(vpc)
            .policy(EgressPolicy.Builder.create().allowedDomains(ExampleSettings.ALLOWED).build())
            .allowedAccounts(List.of(ExampleSettings.CONSUMER_ACCOUNT))
            .ssmParameterPrefix(ExampleSettings.SERVICE_PARAMETER_PREFIX)
            .build();
    // What account B needs, and what account A runs to accept B's endpoint.
    output("ServiceName", provider.getEndpointServiceName(), "serviceName for EgressProxyService.fromServiceAttributes");
    output("Port", String.valueOf(provider.getPort().intValue()), "port");
    output("Region", provider.getRegion(), "region");
    output(
        "AvailabilityZoneIds",
        Fn.join(",", Optional.ofNullable(provider.getAvailabilityZoneIds()).orElse(List.of())),
        "availabilityZoneIds: account B places its endpoint only in these zones");
    output(
        "AcceptCommand",
        "aws ec2 accept-vpc-endpoint-connections --service-id "
            + provider.getEndpointService().getVpcEndpointServiceId()
            + " --vpc-endpoint-ids <account B's vpce-id>",
        "Run in account A once account B's endpoint is pendingAcceptance");
  }

  private void output(String name, String value, String description) {
    CfnOutput.Builder.create(this, name).value(value).description(description).build();
  }

  public EgressProxyProvider getProvider() {
    return provider;
  }
}
