/**
 * Assertions the integration tests run after deploying, so that whoever deploys them into an
 * account learns whether the proxy works, not only that the stacks were created.
 * Every check waits (retrying) for its expected result and fails the deployment when the time
 * runs out. The integ-tests-alpha assertion stack holds them (its Lambda functions are the only
 * ones the integration tests create).
 */
import { ExpectedResult, IApiCall, IDeployAssert, Match } from '@aws-cdk/integ-tests-alpha';
import { Aws, Duration } from 'aws-cdk-lib';
import { EgressProxyEndpoint, EgressProxyProvider } from '../src';

/** A host the allowlists of the integration tests never include. */
export const UNLISTED_URL = 'https://example.com';

/** How long each check keeps retrying, and how often. */
const WAIT = { totalTimeout: Duration.minutes(20), interval: Duration.seconds(30) };

/** What the checks need from the deployed stacks. */
export interface ProxyUnderTest {
  readonly provider: EgressProxyProvider;
  readonly endpoint: EgressProxyEndpoint;
  /** An instance in the closed subnets, sent through the proxy by `configureInstance`. */
  readonly clientInstanceId: string;
  readonly region: string;
}

/**
 * Account A accepts the consumer's endpoint connection, exactly as the README's
 * `aws ec2 accept-vpc-endpoint-connections` does (the cross-account flow).
 */
export function acceptEndpointConnection(assertions: IDeployAssert, proxy: ProxyUnderTest): IApiCall {
  return assertions
    .awsApiCall('EC2', 'acceptVpcEndpointConnections', {
      ServiceId: proxy.provider.endpointService.vpcEndpointServiceId,
      VpcEndpointIds: [proxy.endpoint.endpointId],
    })
    .expect(ExpectedResult.objectLike({ Unsuccessful: [] }));
}

/**
 * The checks, in order: the endpoint connection is `available`; every target is healthy; the
 * client instance is online in Systems Manager (its agent reaches SSM through the proxy); the
 * client runs `aws sts get-caller-identity` through the proxy (SSM Run Command) and prints this
 * account; a request from it to an unlisted host gets the proxy's 403.
 *
 * @param after a check that must pass first (e.g. the acceptance of the connection)
 */
export function assertProxyWorks(assertions: IDeployAssert, proxy: ProxyUnderTest, after?: IApiCall): IApiCall {
  const connection = assertions
    .awsApiCall('EC2', 'describeVpcEndpointConnections', {
      Filters: [
        { Name: 'service-id', Values: [proxy.provider.endpointService.vpcEndpointServiceId] },
        { Name: 'vpc-endpoint-id', Values: [proxy.endpoint.endpointId] },
      ],
    })
    .expect(
      ExpectedResult.objectLike({
        VpcEndpointConnections: [{ VpcEndpointId: proxy.endpoint.endpointId, VpcEndpointState: 'available' }],
      }),
    )
    .waitForAssertions(WAIT);
  after?.next(connection);

  const targets = assertions
    .awsApiCall('ElasticLoadBalancingV2', 'describeTargetHealth', {
      TargetGroupArn: proxy.provider.targetGroup.targetGroupArn,
    })
    .expect(
      ExpectedResult.objectLike({
        TargetHealthDescriptions: [
          Match.objectLike({ TargetHealth: { State: 'healthy' } }),
          Match.objectLike({ TargetHealth: { State: 'healthy' } }),
        ],
      }),
    )
    .waitForAssertions(WAIT);
  // integ-tests-alpha derives `elasticloadbalancingv2:…` from the service name; IAM's prefix is
  // `elasticloadbalancing`.
  targets.provider.addToRolePolicy({
    Effect: 'Allow',
    Action: ['elasticloadbalancing:DescribeTargetHealth'],
    Resource: ['*'],
  });

  const online = assertions
    .awsApiCall('SSM', 'describeInstanceInformation', {
      Filters: [{ Key: 'InstanceIds', Values: [proxy.clientInstanceId] }],
    })
    .expect(
      ExpectedResult.objectLike({
        InstanceInformationList: [Match.objectLike({ InstanceId: proxy.clientInstanceId, PingStatus: 'Online' })],
      }),
    )
    .waitForAssertions(WAIT);

  const callerIdentity = runOnClient(
    assertions,
    proxy,
    'CallerIdentity',
    [`aws sts get-caller-identity --region ${proxy.region} --query Account --output text`],
    Match.stringLikeRegexp(`^${Aws.ACCOUNT_ID}\\s*$`),
  );
  // curl prints the proxy's answer to its CONNECT; the request never leaves the proxy.
  const unlisted = runOnClient(
    assertions,
    proxy,
    'UnlistedHost',
    [`echo "connect=$(curl -sS -o /dev/null --max-time 30 -w '%{http_connect}' ${UNLISTED_URL} 2>/dev/null)"`],
    Match.stringLikeRegexp('connect=403'),
  );

  connection.next(targets).next(online).next(callerIdentity.send);
  callerIdentity.send.next(unlisted.send);
  return unlisted.result;
}

/**
 * Run a shell script on the client with SSM Run Command, in a login-shell environment (the
 * proxy settings `configureInstance` wrote), and wait until it succeeded with the expected output.
 */
function runOnClient(
  assertions: IDeployAssert,
  proxy: ProxyUnderTest,
  name: string,
  commands: string[],
  output: { [key: string]: string },
): { send: IApiCall; result: IApiCall } {
  const send = assertions.awsApiCall('SSM', 'sendCommand', {
    DocumentName: 'AWS-RunShellScript',
    InstanceIds: [proxy.clientInstanceId],
    Comment: `egress proxy integ: ${name}`,
    Parameters: { commands: ['. /etc/profile.d/egress-proxy.sh', ...commands] },
  });
  const result = assertions
    .awsApiCall('SSM', 'getCommandInvocation', {
      CommandId: send.getAttString('Command.CommandId'),
      InstanceId: proxy.clientInstanceId,
    })
    .expect(ExpectedResult.objectLike({ Status: 'Success', StandardOutputContent: output }))
    .waitForAssertions(WAIT);
  return { send, result };
}
