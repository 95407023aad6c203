/**
 * Integration test: the single-account topology (PrivateEgressProxy) with a build agent in the
 * closed subnets. Its snapshot is committed and checked by `scripts/test-all.sh` without
 * deploying. With credentials for an account, `npx cdk deploy --all --app 'npx ts-node
 * --prefer-ts-exts test/integ.single-account.ts'` deploys it into eu-west-1 and runs the
 * assertions (integ-runner cannot read this aws-cdk-lib's cloud assemblies; see
 * scripts/integ-snapshot.ts): the endpoint connection is available (no
 * acceptance step: the construct needs none), every target is healthy, the agent runs
 * `aws sts get-caller-identity` through the proxy, and a request to an unlisted host gets 403.
 */
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Stack } from 'aws-cdk-lib';
import { assertProxyWorks } from './integ-assertions';
import { REGION, SingleAccountStack } from '../examples/app';

const app = new App();
const stack = new SingleAccountStack(app, 'IntegEgressProxySingleAccount', { env: { region: REGION } });
const integ = new IntegTest(app, 'SingleAccount', {
  testCases: [stack],
  diffAssets: true,
  // The checks run in the stacks' account and Region.
  assertionStack: new Stack(app, 'SingleAccountAssertions', { env: { region: REGION } }),
});
assertProxyWorks(integ.assertions, {
  provider: stack.egress.provider,
  endpoint: stack.egress.endpoint,
  clientInstanceId: stack.agent.instanceId,
  region: REGION,
});
app.synth();
