import { CfnResource, Stack } from 'aws-cdk-lib';
import { vcpusOfInstanceType } from '../src/private/instance-size';
import { acknowledgeNagFindings } from '../src/private/nag';

describe('vCPUs from the instance type name', () => {
  test.each([
    ['c7gn.medium', 1],
    ['c6gn.large', 2],
    ['m7g.xlarge', 4],
    ['c7g.16xlarge', 64],
    ['t4g.nano', 2],
    ['t4g.small', 2],
    ['t3.large', 2],
    ['t4g.xlarge', 4],
    ['t2.micro', 1],
    ['t2.medium', 2],
    ['m7i-flex.large', 2],
  ])('%s has %d', (name, vcpus) => {
    expect(vcpusOfInstanceType(name)).toBe(vcpus);
  });

  test.each(['c7g.metal', 'u-6tb1.112xlarge.extra', 'nonsense', '${Token[TOKEN.1]}'])('%s is not guessed', (name) => {
    expect(vcpusOfInstanceType(name)).toBeUndefined();
  });
});

describe('cdk-nag acknowledgements without cdk-nag', () => {
  test("are written in cdk-nag's metadata format and accumulate", () => {
    const stack = new Stack();
    const r = new CfnResource(stack, 'R', { type: 'AWS::SNS::Topic' });
    acknowledgeNagFindings(r, [{ id: 'AwsSolutions-SNS2', reason: 'Test topic holds no data at all.' }]);
    acknowledgeNagFindings(r, [
      { id: 'AwsSolutions-IAM5', reason: 'Test reason of some length.', appliesTo: ['Resource::*'] },
    ]);
    expect(r.getMetadata('cdk_nag')).toEqual({
      rules_to_suppress: [
        { reason: 'Test topic holds no data at all.', id: 'AwsSolutions-SNS2' },
        { reason: 'Test reason of some length.', id: 'AwsSolutions-IAM5', applies_to: ['Resource::*'] },
      ],
    });
  });

  test('refuse a short reason', () => {
    const r = new CfnResource(new Stack(), 'R', { type: 'AWS::SNS::Topic' });
    expect(() => acknowledgeNagFindings(r, [{ id: 'X', reason: 'short' }])).toThrow(/10 characters/);
  });
});
