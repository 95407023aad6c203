#!/usr/bin/env python3
"""The example app in Python: the same stacks as examples/app.ts.

(a) The seed article's topology in one account, as one construct, with a build agent in the
closed subnets; (b) a provider in account A and a consumer in account B, wired by the provider's
published attributes (no cross-stack reference).

Synthesising needs no AWS credentials and no context lookups: every stack names only its Region.

    pip install cdk-private-egress-proxy aws-cdk-lib constructs
    python app.py            # or: cdk synth --app "python app.py"
"""
import os
from typing import Callable, Dict, List, Optional

from aws_cdk import App, CfnOutput, Environment, Fn, Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from cdk_private_egress_proxy import (
    AvailabilityZoneMapping,
    AwsEndpoints,
    AwsService,
    EgressPolicy,
    EgressProxyEndpoint,
    EgressProxyProvider,
    EgressProxyService,
    IEgressProxyService,
    PrivateEgressProxy,
)

REGION = "eu-west-1"
# Placeholder account IDs; set PROVIDER_ACCOUNT / CONSUMER_ACCOUNT to your own.
PROVIDER_ACCOUNT = os.environ.get("PROVIDER_ACCOUNT", "111111111111")
CONSUMER_ACCOUNT = os.environ.get("CONSUMER_ACCOUNT", "222222222222")
# Where the provider publishes its attributes in SSM (account A).
SERVICE_PARAMETER_PREFIX = "/egress-proxy"

# What account B knows about account A's service: copied from the provider stack's outputs
# (set PROXY_SERVICE_NAME and PROXY_AZ_IDS, comma-separated), or these placeholders.
PROVIDER_SERVICE_NAME = os.environ.get(
    "PROXY_SERVICE_NAME", f"com.amazonaws.vpce.{REGION}.vpce-svc-0123456789abcdef0"
)
PROVIDER_AZ_IDS = os.environ.get("PROXY_AZ_IDS", "euw1-az1,euw1-az2,euw1-az3").split(",")

# Account B's zone names and AZ IDs (set CONSUMER_ZONE_IDS as `eu-west-1a=euw1-az3,...`).
CONSUMER_ZONES: List[AvailabilityZoneMapping] = [
    AvailabilityZoneMapping(zone_name=name, zone_id=zone_id)
    for name, zone_id in (
        pair.split("=")
        for pair in os.environ.get(
            "CONSUMER_ZONE_IDS", "eu-west-1a=euw1-az3,eu-west-1b=euw1-az1,eu-west-1c=euw1-az2"
        ).split(",")
    )
]

# What the clients may reach: STS, S3 (one bucket), the CloudWatch agent's Logs, and Session
# Manager (the build agent is reached with Session Manager, through the proxy).
ALLOWED = AwsEndpoints.hostnames(
    services=[AwsService.STS, AwsService.S3, AwsService.CLOUDWATCH_LOGS],
    regions=[REGION],
    s3_buckets=["example-artifacts"],
    session_manager=True,
)


def example_flow_logs() -> Dict[str, ec2.FlowLogOptions]:
    """VPC flow logs (accepted and rejected traffic) to CloudWatch Logs."""
    return {
        "FlowLogs": ec2.FlowLogOptions(
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
    }


def build_agent(scope: Construct, vpc: ec2.IVpc) -> ec2.Instance:
    """An instance in the closed subnets whose shells, services and SSM agent use the proxy."""
    return ec2.Instance(
        scope,
        "BuildAgent",
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        instance_type=ec2.InstanceType("t4g.micro"),
        machine_image=ec2.MachineImage.latest_amazon_linux2023(cpu_type=ec2.AmazonLinuxCpuType.ARM_64),
        require_imdsv2=True,
        ssm_session_permissions=True,
        detailed_monitoring=True,
        block_devices=[
            ec2.BlockDevice(device_name="/dev/xvda", volume=ec2.BlockDeviceVolume.ebs(8, encrypted=True))
        ],
    )


class SingleAccountStack(Stack):
    """(a) The seed's topology: proxy subnets with a NAT route, clients in isolated subnets."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=2,
            restrict_default_security_group=False,
            flow_logs=example_flow_logs(),
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
                ec2.SubnetConfiguration(name="proxy", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                ec2.SubnetConfiguration(name="clients", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            ],
        )
        self.egress = PrivateEgressProxy(
            self,
            "Egress",
            vpc=vpc,
            allowed_domains=ALLOWED,
            consumer_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        )
        self.agent = build_agent(self, vpc)
        self.egress.endpoint.configure_instance(self.agent)
        CfnOutput(self, "ProxyUrl", value=self.egress.proxy_url, description="HTTPS_PROXY for clients")
        CfnOutput(
            self,
            "ExportCommand",
            value=self.egress.endpoint.client_settings.export_command(),
            description="Paste into a shell to send the AWS CLI and SDKs through the proxy",
        )


class ProviderStack(Stack):
    """(b1) Account A: the proxy, offered to account B, with its attributes in outputs and SSM."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Every zone of the Region (eu-west-1 has three), by name.
        vpc = ec2.Vpc(
            self,
            "Vpc",
            availability_zones=["eu-west-1a", "eu-west-1b", "eu-west-1c"],
            nat_gateways=3,
            restrict_default_security_group=False,
            flow_logs=example_flow_logs(),
        )
        self.provider = EgressProxyProvider(
            self,
            "Proxy",
            vpc=vpc,
            policy=EgressPolicy(allowed_domains=ALLOWED),
            allowed_accounts=[CONSUMER_ACCOUNT],
            ssm_parameter_prefix=SERVICE_PARAMETER_PREFIX,
        )
        # What account B needs, and what account A runs to accept B's endpoint.
        service_id = self.provider.endpoint_service.vpc_endpoint_service_id
        outputs = [
            ("ServiceName", self.provider.endpoint_service_name,
             "serviceName for EgressProxyService.fromServiceAttributes"),
            ("Port", str(self.provider.port), "port"),
            ("Region", self.provider.region, "region"),
            ("AvailabilityZoneIds", Fn.join(",", self.provider.availability_zone_ids or []),
             "availabilityZoneIds: account B places its endpoint only in these zones"),
            ("AcceptCommand",
             f"aws ec2 accept-vpc-endpoint-connections --service-id {service_id} "
             "--vpc-endpoint-ids <account B's vpce-id>",
             "Run in account A once account B's endpoint is pendingAcceptance"),
        ]
        for name, value, description in outputs:
            CfnOutput(self, name, value=value, description=description)


class ConsumerStack(Stack):
    """(b2) Account B: a closed VPC whose clients reach AWS only through account A's proxy."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: Optional[Callable[[Construct], IEgressProxyService]] = None,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # All of account B's zones by name (literal, so they can be mapped to AZ IDs; no lookup).
        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.20.0.0/16"),
            availability_zones=[z.zone_name for z in CONSUMER_ZONES],
            nat_gateways=0,
            restrict_default_security_group=False,
            flow_logs=example_flow_logs(),
            subnet_configuration=[
                ec2.SubnetConfiguration(name="clients", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
            ],
        )
        proxy_service = (
            service(self)
            if service
            else EgressProxyService.from_service_attributes(
                self,
                "ProxyService",
                service_name=PROVIDER_SERVICE_NAME,
                availability_zone_ids=PROVIDER_AZ_IDS,
            )
        )
        # The endpoint goes only into the zones whose AZ IDs account A serves.
        self.endpoint = EgressProxyEndpoint(
            self,
            "Proxy",
            vpc=vpc,
            service=proxy_service,
            zone_mappings=CONSUMER_ZONES,
            dns_name="proxy.egress.internal",
            allowed_cidrs=["10.20.0.0/16", "192.168.0.0/16"],  # the VPC, and a data centre over VPN
        )
        self.agent = build_agent(self, vpc)
        self.endpoint.configure_instance(self.agent)
        CfnOutput(self, "EndpointId", value=self.endpoint.endpoint_id, description="The vpce-id account A accepts")
        CfnOutput(self, "ProxyUrl", value=self.endpoint.proxy_url, description="HTTPS_PROXY for clients")


def build_example_app(app: App) -> List[Stack]:
    """Build every example stack into `app`."""
    env = Environment(region=REGION)
    return [
        SingleAccountStack(app, "EgressProxySingleAccount", env=env),
        ProviderStack(app, "EgressProxyProvider", env=env),
        ConsumerStack(app, "EgressProxyConsumer", env=env),
    ]


if __name__ == "__main__":
    app = App()
    build_example_app(app)
    assembly = app.synth()
    for stack in assembly.stacks:
        print(f"  {stack.stack_name:26} {stack.environment.region}  {stack.template_file}")
