/**
 * Integration test: provider in account A, consumer in account B (service name via SSM). Its
 * snapshot is committed and checked by `scripts/test-all.sh` without deploying. To deploy, set
 * PROVIDER_ACCOUNT and CONSUMER_ACCOUNT, bootstrap both with trust for the deploying account,
 * and copy the provider's service-name parameter into account B before the consumer deploys.
 */
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App } from 'aws-cdk-lib';
import { CONSUMER_ACCOUNT, ConsumerStack, PROVIDER_ACCOUNT, ProviderStack, REGION } from '../examples/app';

const app = new App();
const provider = new ProviderStack(app, 'IntegEgressProxyProvider', {
  env: { account: PROVIDER_ACCOUNT, region: REGION },
});
const consumer = new ConsumerStack(app, 'IntegEgressProxyConsumer', {
  env: { account: CONSUMER_ACCOUNT, region: REGION },
});
consumer.addDependency(provider);
new IntegTest(app, 'CrossAccount', { testCases: [provider, consumer], diffAssets: true });
app.synth();
