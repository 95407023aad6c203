/**
 * Integration test: a provider (account A) and a consumer (account B) that imports the
 * service from SSM parameters and needs acceptance. Its snapshot is committed and checked by
 * `scripts/test-all.sh` without deploying.
 *
 * Deployed with one set of credentials (`npx cdk deploy --all --app 'npx ts-node
 * --prefer-ts-exts test/integ.cross-account.ts'`), a run plays both accounts in one: set
 * CONSUMER_ACCOUNT to that account (the provider allows only it). The assertions
 * then do what account A does for account B - accept the endpoint connection, as
 * `aws ec2 accept-vpc-endpoint-connections` would - and check that the connection is
 * available, every target is healthy, B's build agent runs `aws sts get-caller-identity`
 * through the proxy, and a request to an unlisted host gets 403. In two real accounts, deploy
 * the provider and consumer stacks with each account's credentials (`cdk deploy`), copy the
 * provider's `/egress-proxy/*` parameters into account B first, and accept as the README shows.
 */
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Stack } from 'aws-cdk-lib';
import { ConsumerStack, ProviderStack, REGION, SERVICE_PARAMETER_PREFIX } from '../examples/app';
import { EgressProxyService } from '../src';
import { acceptEndpointConnection, assertProxyWorks } from './integ-assertions';

const app = new App();
const provider = new ProviderStack(app, 'IntegEgressProxyProvider', { env: { region: REGION } });
const consumer = new ConsumerStack(app, 'IntegEgressProxyConsumer', {
  env: { region: REGION },
  service: (scope) =>
    EgressProxyService.fromSsmParameters(scope, 'ProxyService', { parameterPrefix: SERVICE_PARAMETER_PREFIX }),
});
consumer.addStackDependency(provider, 'account B reads the service attributes account A publishes in SSM');
const integ = new IntegTest(app, 'CrossAccount', {
  testCases: [provider, consumer],
  diffAssets: true,
  // The checks run in the stacks' account and Region.
  assertionStack: new Stack(app, 'CrossAccountAssertions', { env: { region: REGION } }),
});
const proxy = {
  provider: provider.provider,
  endpoint: consumer.endpoint,
  clientInstanceId: consumer.agent.instanceId,
  region: REGION,
};
assertProxyWorks(integ.assertions, proxy, acceptEndpointConnection(integ.assertions, proxy));
app.synth();
