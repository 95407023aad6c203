package com.example.egressproxy;

import software.amazon.awscdk.App;
import software.amazon.awscdk.Environment;
import software.amazon.awscdk.StackProps;
import software.amazon.awscdk.cxapi.CloudAssembly;
import software.amazon.awscdk.cxapi.CloudFormationStackArtifact;

/** The example app: every example stack, Region only (no credentials, no lookups). */
public final class ExampleApp {
  private ExampleApp() {}

  public static void main(final String[] args) {
    App app = new App();
    StackProps props =
        StackProps.builder().env(Environment.builder().region(ExampleSettings.REGION).build()).build();
    new SingleAccountStack(app, "EgressProxySingleAccount", props);
    new ProviderStack(app, "EgressProxyProvider", props);
    new ConsumerStack(app, "EgressProxyConsumer", props);
    CloudAssembly assembly = app.synth();
    for (CloudFormationStackArtifact stack : assembly.getStacks()) {
      System.out.printf("  %-26s %s  %s%n", stack.getStackName(), stack.getEnvironment().getRegion(), stack.getTemplateFile());
    }
  }
}
