package com.example.egressproxy;

import io.github.cdkprivateegressproxy.AvailabilityZoneMapping;
import io.github.cdkprivateegressproxy.AwsEndpoints;
import io.github.cdkprivateegressproxy.AwsEndpointsOptions;
import io.github.cdkprivateegressproxy.AwsService;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import software.amazon.awscdk.services.ec2.AmazonLinux2023ImageSsmParameterProps;
import software.amazon.awscdk.services.ec2.AmazonLinuxCpuType;
import software.amazon.awscdk.services.ec2.BlockDevice;
import software.amazon.awscdk.services.ec2.BlockDeviceVolume;
import software.amazon.awscdk.services.ec2.EbsDeviceOptions;
import software.amazon.awscdk.services.ec2.FlowLogDestination;
import software.amazon.awscdk.services.ec2.FlowLogOptions;
import software.amazon.awscdk.services.ec2.FlowLogTrafficType;
import software.amazon.awscdk.services.ec2.IVpc;
import software.amazon.awscdk.services.ec2.Instance;
import software.amazon.awscdk.services.ec2.InstanceType;
import software.amazon.awscdk.services.ec2.MachineImage;
import software.amazon.awscdk.services.ec2.SubnetSelection;
import software.amazon.awscdk.services.ec2.SubnetType;
import software.constructs.Construct;

/** What the example stacks share (examples/app.ts's constants and helpers). */
final class ExampleSettings {
  private ExampleSettings() {}

  static final String REGION = "eu-west-1";
  /** Placeholder account IDs; set PROVIDER_ACCOUNT / CONSUMER_ACCOUNT to your own. */
  static final String PROVIDER_ACCOUNT = env("PROVIDER_ACCOUNT", "111111111111");
  static final String CONSUMER_ACCOUNT = env("CONSUMER_ACCOUNT", "222222222222");
  /** Where the provider publishes its attributes in SSM (account A). */
  static final String SERVICE_PARAMETER_PREFIX = "/egress-proxy";

  /** Account A's service as account B knows it: the provider stack's outputs, or placeholders. */
  static final String PROVIDER_SERVICE_NAME =
      env("PROXY_SERVICE_NAME", "com.amazonaws.vpce." + REGION + ".vpce-svc-0123456789abcdef0");
  static final List<String> PROVIDER_AZ_IDS =
      Arrays.asList(env("PROXY_AZ_IDS", "euw1-az1,euw1-az2,euw1-az3").split(","));

  /** Account B's zone names and AZ IDs (CONSUMER_ZONE_IDS as `eu-west-1a=euw1-az3,...`). */
  static final List<AvailabilityZoneMapping> CONSUMER_ZONES =
      Arrays.stream(env("CONSUMER_ZONE_IDS", "eu-west-1a=euw1-az3,eu-west-1b=euw1-az1,eu-west-1c=euw1-az2").split(","))
          .map(pair -> pair.split("="))
          .map(p -> AvailabilityZoneMapping.builder().zoneName(p[0]).zoneId(p[1]).build())
          .collect(Collectors.toList());

  /** STS, S3 (one bucket), the CloudWatch agent's Logs, and Session Manager. */
  static final List<String> ALLOWED =
      AwsEndpoints.hostnames(
          AwsEndpointsOptions.builder()
              .services(List.of(AwsService.STS, AwsService.S3, AwsService.CLOUDWATCH_LOGS))
              .regions(List.of(REGION))
              .s3Buckets(List.of("example-artifacts"))
              .sessionManager(true)
              .build());

  /** VPC flow logs (accepted and rejected traffic) to CloudWatch Logs. */
  static Map<String, FlowLogOptions> exampleFlowLogs() {
    return Map.of(
        "FlowLogs",
        FlowLogOptions.builder()
            .destination(FlowLogDestination.toCloudWatchLogs())
            .trafficType(FlowLogTrafficType.ALL)
            .build());
  }

  /** An instance in the closed subnets whose shells, services and SSM agent use the proxy. */
  static Instance buildAgent(Construct scope, IVpc vpc) {
    return Instance.Builder.create(scope, "BuildAgent")
        .vpc(vpc)
        .vpcSubnets(SubnetSelection.builder().subnetType(SubnetType.PRIVATE_ISOLATED).build())
        .instanceType(new InstanceType("t4g.micro"))
        .machineImage(
            MachineImage.latestAmazonLinux2023(
                AmazonLinux2023ImageSsmParameterProps.builder().cpuType(AmazonLinuxCpuType.ARM_64).build()))
        .requireImdsv2(true)
        .ssmSessionPermissions(true)
        .detailedMonitoring(true)
        .blockDevices(
            List.of(
                BlockDevice.builder()
                    .deviceName("/dev/xvda")
                    .volume(BlockDeviceVolume.ebs(8, EbsDeviceOptions.builder().encrypted(true).build()))
                    .build()))
        .build();
  }

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null ? fallback : value;
  }
}
