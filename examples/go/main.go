// The example app in Go: the same stacks as examples/app.ts.
//
// (a) The seed article's topology in one account, as one construct, with a build agent in the
// closed subnets; (b) a provider in account A and a consumer in account B, wired by the
// provider's published attributes (no cross-stack reference). Synthesising needs no AWS
// credentials and no context lookups: every stack names only its Region.
//
//	go run .            # or: cdk synth --app "go mod download && go run ."
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	egress "github.com/cdk-private-egress-proxy/cdk-private-egress-proxy-go/cdkprivateegressproxy"
)

const region = "eu-west-1"

// Where the provider publishes its attributes in SSM (account A).
const serviceParameterPrefix = "/egress-proxy"

// env returns the environment variable name, or fallback when it is not set.
func env(name, fallback string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return fallback
}

// Placeholder account IDs; set PROVIDER_ACCOUNT / CONSUMER_ACCOUNT to your own.
var (
	providerAccount = env("PROVIDER_ACCOUNT", "111111111111")
	consumerAccount = env("CONSUMER_ACCOUNT", "222222222222")
)

// providerService is what account B knows about account A's service: copied from the provider
// stack's outputs (set PROXY_SERVICE_NAME and PROXY_AZ_IDS, comma-separated), or placeholders.
func providerService() *egress.EgressProxyServiceAttributes {
	return &egress.EgressProxyServiceAttributes{
		ServiceName:         jsii.String(env("PROXY_SERVICE_NAME", "com.amazonaws.vpce."+region+".vpce-svc-0123456789abcdef0")),
		AvailabilityZoneIds: jsii.Strings(strings.Split(env("PROXY_AZ_IDS", "euw1-az1,euw1-az2,euw1-az3"), ",")...),
	}
}

// consumerZones are account B's zone names and AZ IDs (set CONSUMER_ZONE_IDS as
// `eu-west-1a=euw1-az3,...`). These placeholders map names to other IDs than account A has.
func consumerZones() []*egress.AvailabilityZoneMapping {
	var zones []*egress.AvailabilityZoneMapping
	for _, pair := range strings.Split(env("CONSUMER_ZONE_IDS", "eu-west-1a=euw1-az3,eu-west-1b=euw1-az1,eu-west-1c=euw1-az2"), ",") {
		name, id, _ := strings.Cut(pair, "=")
		zones = append(zones, &egress.AvailabilityZoneMapping{ZoneName: jsii.String(name), ZoneId: jsii.String(id)})
	}
	return zones
}

// allowed is what the clients may reach: STS, S3 (one bucket), the CloudWatch agent's Logs, and
// Session Manager (the build agent is reached with Session Manager, through the proxy).
func allowed() *[]*string {
	return egress.AwsEndpoints_Hostnames(&egress.AwsEndpointsOptions{
		Services:       &[]egress.AwsService{egress.AwsService_STS(), egress.AwsService_S3(), egress.AwsService_CLOUDWATCH_LOGS()},
		Regions:        jsii.Strings(region),
		S3Buckets:      jsii.Strings("example-artifacts"),
		SessionManager: jsii.Bool(true),
	})
}

// exampleFlowLogs sends VPC flow logs (accepted and rejected traffic) to CloudWatch Logs.
func exampleFlowLogs() *map[string]*awsec2.FlowLogOptions {
	return &map[string]*awsec2.FlowLogOptions{
		"FlowLogs": {
			Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(nil, nil),
			TrafficType: awsec2.FlowLogTrafficType_ALL,
		},
	}
}

// buildAgent is an instance in the closed subnets whose shells, services and SSM agent go
// through the proxy: the stand-in for a CI build agent, reached with Session Manager.
func buildAgent(scope constructs.Construct, vpc awsec2.IVpc) awsec2.Instance {
	return awsec2.NewInstance(scope, jsii.String("BuildAgent"), &awsec2.InstanceProps{
		Vpc:          vpc,
		VpcSubnets:   &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED},
		InstanceType: awsec2.NewInstanceType(jsii.String("t4g.micro")),
		MachineImage: awsec2.MachineImage_LatestAmazonLinux2023(&awsec2.AmazonLinux2023ImageSsmParameterProps{
			CpuType: awsec2.AmazonLinuxCpuType_ARM_64,
		}),
		RequireImdsv2:         jsii.Bool(true),
		SsmSessionPermissions: jsii.Bool(true),
		DetailedMonitoring:    jsii.Bool(true),
		BlockDevices: &[]*awsec2.BlockDevice{{
			DeviceName: jsii.String("/dev/xvda"),
			Volume:     awsec2.BlockDeviceVolume_Ebs(jsii.Number(8), &awsec2.EbsDeviceOptions{Encrypted: jsii.Bool(true)}),
		}},
	})
}

// NewSingleAccountStack is (a): proxy subnets with a NAT route, clients in isolated subnets.
func NewSingleAccountStack(scope constructs.Construct, id string, props *awscdk.StackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, &id, props)
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{
		MaxAzs:                       jsii.Number(2),
		NatGateways:                  jsii.Number(2),
		RestrictDefaultSecurityGroup: jsii.Bool(false),
		FlowLogs:                     exampleFlowLogs(),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: jsii.String("public"), SubnetType: awsec2.SubnetType_PUBLIC},
			{Name: jsii.String("proxy"), SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
			{Name: jsii.String("clients"), SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED},
		},
	})
	proxy := egress.NewPrivateEgressProxy(stack, jsii.String("Egress"), &egress.PrivateEgressProxyProps{
		Vpc:             vpc,
		AllowedDomains:  allowed(),
		ConsumerSubnets: &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED},
	})
	agent := buildAgent(stack, vpc)
	proxy.Endpoint().ConfigureInstance(agent)
	awscdk.NewCfnOutput(stack, jsii.String("ProxyUrl"), &awscdk.CfnOutputProps{
		Value:       proxy.ProxyUrl(),
		Description: jsii.String("HTTPS_PROXY for clients"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("ExportCommand"), &awscdk.CfnOutputProps{
		Value:       proxy.Endpoint().ClientSettings().ExportCommand(),
		Description: jsii.String("Paste into a shell to send the AWS CLI and SDKs through the proxy"),
	})
	return stack
}

// NewProviderStack is (b1), account A: the proxy, offered to account B, with its attributes in
// outputs and SSM.
func NewProviderStack(scope constructs.Construct, id string, props *awscdk.StackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, &id, props)
	// Every zone of the Region (eu-west-1 has three), by name.
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{
		AvailabilityZones:            jsii.Strings("eu-west-1a", "eu-west-1b", "eu-west-1c"),
		NatGateways:                  jsii.Number(3),
		RestrictDefaultSecurityGroup: jsii.Bool(false),
		FlowLogs:                     exampleFlowLogs(),
	})
	provider := egress.NewEgressProxyProvider(stack, jsii.String("Proxy"), &egress.EgressProxyProviderProps{
		Vpc:                vpc,
		Policy:             egress.NewEgressPolicy(&egress.EgressPolicyProps{AllowedDomains: allowed()}),
		AllowedAccounts:    jsii.Strings(consumerAccount),
		SsmParameterPrefix: jsii.String(serviceParameterPrefix),
	})
	zoneIds := provider.AvailabilityZoneIds()
	if zoneIds == nil {
		zoneIds = &[]*string{}
	}
	// What account B needs, and what account A runs to accept B's endpoint.
	outputs := []struct {
		name, description string
		value             *string
	}{
		{"ServiceName", "serviceName for EgressProxyService.fromServiceAttributes", provider.EndpointServiceName()},
		{"Port", "port", jsii.String(fmt.Sprint(*provider.Port()))},
		{"Region", "region", provider.Region()},
		{"AvailabilityZoneIds", "availabilityZoneIds: account B places its endpoint only in these zones", awscdk.Fn_Join(jsii.String(","), zoneIds)},
		{"AcceptCommand", "Run in account A once account B's endpoint is pendingAcceptance",
			jsii.String("aws ec2 accept-vpc-endpoint-connections --service-id " + *provider.EndpointService().VpcEndpointServiceId() +
				" --vpc-endpoint-ids <account B's vpce-id>")},
	}
	for _, o := range outputs {
		awscdk.NewCfnOutput(stack, jsii.String(o.name), &awscdk.CfnOutputProps{Value: o.value, Description: jsii.String(o.description)})
	}
	return stack
}

// NewConsumerStack is (b2), account B: a closed VPC whose clients reach AWS only through account
// A's proxy. service tells how account B finds the service (nil: the attributes in
// providerService, copied from the provider's outputs).
func NewConsumerStack(scope constructs.Construct, id string, props *awscdk.StackProps,
	service func(constructs.Construct) egress.IEgressProxyService) awscdk.Stack {
	stack := awscdk.NewStack(scope, &id, props)
	zones := consumerZones()
	var zoneNames []*string
	for _, z := range zones {
		zoneNames = append(zoneNames, z.ZoneName)
	}
	// All of account B's zones by name (literal, so they can be mapped to AZ IDs; no lookup).
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{
		IpAddresses:                  awsec2.IpAddresses_Cidr(jsii.String("10.20.0.0/16")),
		AvailabilityZones:            &zoneNames,
		NatGateways:                  jsii.Number(0),
		RestrictDefaultSecurityGroup: jsii.Bool(false),
		FlowLogs:                     exampleFlowLogs(),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: jsii.String("clients"), SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED},
		},
	})
	var proxyService egress.IEgressProxyService
	if service != nil {
		proxyService = service(stack)
	} else {
		proxyService = egress.EgressProxyService_FromServiceAttributes(stack, jsii.String("ProxyService"), providerService())
	}
	// The endpoint goes only into the zones whose AZ IDs account A serves.
	endpoint := egress.NewEgressProxyEndpoint(stack, jsii.String("Proxy"), &egress.EgressProxyEndpointProps{
		Vpc:          vpc,
		Service:      proxyService,
		ZoneMappings: &zones,
		DnsName:      jsii.String("proxy.egress.internal"),
		AllowedCidrs: jsii.Strings("10.20.0.0/16", "192.168.0.0/16"), // the VPC, and a data centre over VPN
	})
	agent := buildAgent(stack, vpc)
	endpoint.ConfigureInstance(agent)
	awscdk.NewCfnOutput(stack, jsii.String("EndpointId"), &awscdk.CfnOutputProps{
		Value:       endpoint.EndpointId(),
		Description: jsii.String("The vpce-id account A accepts"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("ProxyUrl"), &awscdk.CfnOutputProps{
		Value:       endpoint.ProxyUrl(),
		Description: jsii.String("HTTPS_PROXY for clients"),
	})
	return stack
}

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	props := &awscdk.StackProps{Env: &awscdk.Environment{Region: jsii.String(region)}}
	NewSingleAccountStack(app, "EgressProxySingleAccount", props)
	NewProviderStack(app, "EgressProxyProvider", props)
	NewConsumerStack(app, "EgressProxyConsumer", props, nil)
	assembly := app.Synth(nil)
	for _, s := range *assembly.Stacks() {
		fmt.Printf("  %-26s %s  %s\n", *s.StackName(), *s.Environment().Region, *s.TemplateFile())
	}
}
