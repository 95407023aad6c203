/**
 * Integration test: the single-account topology (PrivateEgressProxy). Its snapshot is committed
 * and checked by `scripts/test-all.sh` without deploying; with credentials for the account,
 * `npx integ-runner --directory test --update-on-failed` deploys it.
 */
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App } from 'aws-cdk-lib';
import { PROVIDER_ACCOUNT, REGION, SingleAccountStack } from '../examples/app';

const app = new App();
const stack = new SingleAccountStack(app, 'IntegEgressProxySingleAccount', {
  env: { account: PROVIDER_ACCOUNT, region: REGION },
});
new IntegTest(app, 'SingleAccount', { testCases: [stack], diffAssets: true });
app.synth();
