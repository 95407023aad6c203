import { AwsEndpoints, AwsEndpointsOptions, AwsService, EgressPolicy } from '../src';

const ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';

/** Every AwsService constant. */
const ALL_SERVICES = Object.values(AwsService).filter((v): v is AwsService => v instanceof AwsService);

function errorFor(options: AwsEndpointsOptions): string {
  try {
    AwsEndpoints.hostnames(options);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected AwsEndpoints.hostnames to throw');
}

describe('STS', () => {
  test('a commercial region gives the regional endpoint and the global sts.amazonaws.com', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.STS], regions: ['us-west-2'] })).toEqual([
      'sts.amazonaws.com',
      'sts.us-west-2.amazonaws.com',
    ]);
  });

  test('a China region gives only the regional endpoint under amazonaws.com.cn', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.STS], regions: ['cn-north-1'] })).toEqual([
      'sts.cn-north-1.amazonaws.com.cn',
    ]);
  });

  test('a GovCloud region gives only the regional endpoint', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.STS], regions: ['us-gov-west-1'] })).toEqual([
      'sts.us-gov-west-1.amazonaws.com',
    ]);
  });

  test('FIPS adds sts-fips.<region>', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.STS], regions: ['us-east-1'], fips: true })).toEqual([
      'sts-fips.us-east-1.amazonaws.com',
      'sts.amazonaws.com',
      'sts.us-east-1.amazonaws.com',
    ]);
  });

  test('dual-stack adds sts.<region>.api.aws', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.STS], regions: ['eu-west-1'], dualStack: true })).toEqual([
      'sts.amazonaws.com',
      'sts.eu-west-1.amazonaws.com',
      'sts.eu-west-1.api.aws',
    ]);
  });

  test('FIPS and dual-stack together add sts-fips.<region>.api.aws', () => {
    expect(
      AwsEndpoints.hostnames({ services: [AwsService.STS], regions: ['us-east-2'], fips: true, dualStack: true }),
    ).toEqual([
      'sts-fips.us-east-2.amazonaws.com',
      'sts-fips.us-east-2.api.aws',
      'sts.amazonaws.com',
      'sts.us-east-2.amazonaws.com',
      'sts.us-east-2.api.aws',
    ]);
  });
});

describe('S3', () => {
  test('without buckets only the regional endpoint is listed', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.S3], regions: ['eu-west-1'] })).toEqual([
      's3.eu-west-1.amazonaws.com',
    ]);
  });

  test('us-east-1 also lists the legacy global endpoint s3.amazonaws.com', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.S3], regions: ['us-east-1'] })).toEqual([
      's3.amazonaws.com',
      's3.us-east-1.amazonaws.com',
    ]);
  });

  test('buckets get virtual-hosted-style names', () => {
    expect(
      AwsEndpoints.hostnames({
        services: [AwsService.S3],
        regions: ['eu-west-1'],
        s3Buckets: ['my-artifacts', 'logs.v2'],
      }),
    ).toEqual([
      'logs.v2.s3.eu-west-1.amazonaws.com',
      'my-artifacts.s3.eu-west-1.amazonaws.com',
      's3.eu-west-1.amazonaws.com',
    ]);
  });

  test('buckets in us-east-1 also get legacy global virtual-hosted names', () => {
    expect(
      AwsEndpoints.hostnames({ services: [AwsService.S3], regions: ['us-east-1'], s3Buckets: ['my-artifacts'] }),
    ).toEqual([
      'my-artifacts.s3.amazonaws.com',
      'my-artifacts.s3.us-east-1.amazonaws.com',
      's3.amazonaws.com',
      's3.us-east-1.amazonaws.com',
    ]);
  });

  test('buckets are listed in every region', () => {
    expect(
      AwsEndpoints.hostnames({
        services: [AwsService.S3],
        regions: ['eu-west-1', 'eu-central-1'],
        s3Buckets: ['bkt1'],
      }),
    ).toEqual([
      'bkt1.s3.eu-central-1.amazonaws.com',
      'bkt1.s3.eu-west-1.amazonaws.com',
      's3.eu-central-1.amazonaws.com',
      's3.eu-west-1.amazonaws.com',
    ]);
  });

  test('FIPS adds s3-fips.<region> for the endpoint and each bucket', () => {
    expect(
      AwsEndpoints.hostnames({ services: [AwsService.S3], regions: ['us-west-2'], s3Buckets: ['bkt1'], fips: true }),
    ).toEqual([
      'bkt1.s3-fips.us-west-2.amazonaws.com',
      'bkt1.s3.us-west-2.amazonaws.com',
      's3-fips.us-west-2.amazonaws.com',
      's3.us-west-2.amazonaws.com',
    ]);
  });

  test('dual-stack adds s3.dualstack.<region> for the endpoint and each bucket', () => {
    expect(
      AwsEndpoints.hostnames({
        services: [AwsService.S3],
        regions: ['eu-west-1'],
        s3Buckets: ['bkt1'],
        dualStack: true,
      }),
    ).toEqual([
      'bkt1.s3.dualstack.eu-west-1.amazonaws.com',
      'bkt1.s3.eu-west-1.amazonaws.com',
      's3.dualstack.eu-west-1.amazonaws.com',
      's3.eu-west-1.amazonaws.com',
    ]);
  });

  test('FIPS and dual-stack together add s3-fips.dualstack.<region>', () => {
    expect(
      AwsEndpoints.hostnames({ services: [AwsService.S3], regions: ['us-east-2'], fips: true, dualStack: true }),
    ).toEqual([
      's3-fips.dualstack.us-east-2.amazonaws.com',
      's3-fips.us-east-2.amazonaws.com',
      's3.dualstack.us-east-2.amazonaws.com',
      's3.us-east-2.amazonaws.com',
    ]);
  });

  test('China regions use amazonaws.com.cn, also for buckets and dual-stack', () => {
    expect(
      AwsEndpoints.hostnames({
        services: [AwsService.S3],
        regions: ['cn-north-1'],
        s3Buckets: ['bkt1'],
        dualStack: true,
      }),
    ).toEqual([
      'bkt1.s3.cn-north-1.amazonaws.com.cn',
      'bkt1.s3.dualstack.cn-north-1.amazonaws.com.cn',
      's3.cn-north-1.amazonaws.com.cn',
      's3.dualstack.cn-north-1.amazonaws.com.cn',
    ]);
  });
});

describe('ECR', () => {
  test('ECR_API gives api.ecr.<region>', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.ECR_API], regions: ['eu-west-1'] })).toEqual([
      'api.ecr.eu-west-1.amazonaws.com',
    ]);
  });

  test('ECR_API FIPS is ecr-fips.<region>', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.ECR_API], regions: ['us-east-1'], fips: true })).toEqual([
      'api.ecr.us-east-1.amazonaws.com',
      'ecr-fips.us-east-1.amazonaws.com',
    ]);
  });

  test('ECR_API dual-stack is ecr.<region>.api.aws (and ecr-fips.<region>.api.aws with FIPS)', () => {
    expect(
      AwsEndpoints.hostnames({ services: [AwsService.ECR_API], regions: ['us-east-1'], fips: true, dualStack: true }),
    ).toEqual([
      'api.ecr.us-east-1.amazonaws.com',
      'ecr-fips.us-east-1.amazonaws.com',
      'ecr-fips.us-east-1.api.aws',
      'ecr.us-east-1.api.aws',
    ]);
  });

  test('ECR_DKR without ecrAccountIds is rejected', () => {
    const msg = errorFor({ services: [AwsService.ECR_DKR], regions: ['eu-west-1'] });
    expect(msg).toContain('AwsService.ECR_DKR needs ecrAccountIds');
    expect(msg).toContain('<account>.dkr.ecr.<region>.amazonaws.com');
  });

  test('ECR_DKR gives a registry name per account plus the regional layer bucket', () => {
    expect(
      AwsEndpoints.hostnames({
        services: [AwsService.ECR_DKR],
        regions: ['eu-west-1'],
        ecrAccountIds: [ACCOUNT, OTHER_ACCOUNT],
      }),
    ).toEqual([
      `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`,
      `${OTHER_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`,
      'prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com',
    ]);
  });

  test('ECR_DKR in us-east-1 also lists the layer bucket under its legacy global S3 name', () => {
    expect(
      AwsEndpoints.hostnames({ services: [AwsService.ECR_DKR], regions: ['us-east-1'], ecrAccountIds: [ACCOUNT] }),
    ).toEqual([
      `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`,
      'prod-us-east-1-starport-layer-bucket.s3.amazonaws.com',
      'prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com',
    ]);
  });

  test('ECR_DKR FIPS adds <account>.dkr.ecr-fips.<region>', () => {
    expect(
      AwsEndpoints.hostnames({
        services: [AwsService.ECR_DKR],
        regions: ['us-west-2'],
        ecrAccountIds: [ACCOUNT],
        fips: true,
      }),
    ).toEqual([
      `${ACCOUNT}.dkr.ecr-fips.us-west-2.amazonaws.com`,
      `${ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com`,
      'prod-us-west-2-starport-layer-bucket.s3.us-west-2.amazonaws.com',
    ]);
  });

  test('ECR_DKR dual-stack adds <account>.dkr-ecr.<region>.on.aws (and dkr-ecr-fips with FIPS)', () => {
    expect(
      AwsEndpoints.hostnames({
        services: [AwsService.ECR_DKR],
        regions: ['us-west-2'],
        ecrAccountIds: [ACCOUNT],
        fips: true,
        dualStack: true,
      }),
    ).toEqual([
      `${ACCOUNT}.dkr-ecr-fips.us-west-2.on.aws`,
      `${ACCOUNT}.dkr-ecr.us-west-2.on.aws`,
      `${ACCOUNT}.dkr.ecr-fips.us-west-2.amazonaws.com`,
      `${ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com`,
      'prod-us-west-2-starport-layer-bucket.s3.us-west-2.amazonaws.com',
    ]);
  });

  test('ECR_DKR in a China region uses amazonaws.com.cn', () => {
    expect(
      AwsEndpoints.hostnames({ services: [AwsService.ECR_DKR], regions: ['cn-northwest-1'], ecrAccountIds: [ACCOUNT] }),
    ).toEqual([
      `${ACCOUNT}.dkr.ecr.cn-northwest-1.amazonaws.com.cn`,
      'prod-cn-northwest-1-starport-layer-bucket.s3.cn-northwest-1.amazonaws.com.cn',
    ]);
  });

  test('ecrAccountIds without ECR_DKR add nothing', () => {
    expect(
      AwsEndpoints.hostnames({ services: [AwsService.ECR_API], regions: ['eu-west-1'], ecrAccountIds: [ACCOUNT] }),
    ).toEqual(['api.ecr.eu-west-1.amazonaws.com']);
  });
});

describe('IAM', () => {
  test('IAM gives only its global endpoint, whatever the regions', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.IAM], regions: ['us-west-2', 'eu-west-1'] })).toEqual([
      'iam.amazonaws.com',
    ]);
  });

  test('IAM FIPS and dual-stack add iam-fips.amazonaws.com and iam.global.api.aws, never a regional name', () => {
    expect(
      AwsEndpoints.hostnames({ services: [AwsService.IAM], regions: ['eu-west-1'], fips: true, dualStack: true }),
    ).toEqual(['iam-fips.amazonaws.com', 'iam.amazonaws.com', 'iam.global.api.aws']);
  });

  test('IAM in the China regions is iam.cn-north-1.amazonaws.com.cn', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.IAM], regions: ['cn-north-1', 'cn-northwest-1'] })).toEqual([
      'iam.cn-north-1.amazonaws.com.cn',
    ]);
  });

  test('IAM in the GovCloud regions is iam.us-gov.amazonaws.com', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.IAM], regions: ['us-gov-west-1', 'us-gov-east-1'] })).toEqual(
      ['iam.us-gov.amazonaws.com'],
    );
  });
});

describe('IAM outside the known partitions', () => {
  test('IAM in a region without a known IAM endpoint is rejected rather than silently dropped', () => {
    const msg = errorFor({ services: [AwsService.IAM], regions: ['us-iso-east-1'] });
    expect(msg).toContain("no known IAM endpoint for region 'us-iso-east-1'");
  });
});

describe('regional services', () => {
  test.each<[string, string, AwsService]>([
    ['EC2', 'ec2.eu-west-1.amazonaws.com', AwsService.EC2],
    ['SSM', 'ssm.eu-west-1.amazonaws.com', AwsService.SSM],
    ['SSM_MESSAGES', 'ssmmessages.eu-west-1.amazonaws.com', AwsService.SSM_MESSAGES],
    ['EC2_MESSAGES', 'ec2messages.eu-west-1.amazonaws.com', AwsService.EC2_MESSAGES],
    ['CLOUDWATCH_LOGS', 'logs.eu-west-1.amazonaws.com', AwsService.CLOUDWATCH_LOGS],
    ['CLOUDWATCH', 'monitoring.eu-west-1.amazonaws.com', AwsService.CLOUDWATCH],
    ['KMS', 'kms.eu-west-1.amazonaws.com', AwsService.KMS],
    ['SECRETS_MANAGER', 'secretsmanager.eu-west-1.amazonaws.com', AwsService.SECRETS_MANAGER],
    ['SSO', 'portal.sso.eu-west-1.amazonaws.com', AwsService.SSO],
    ['SSO_OIDC', 'oidc.eu-west-1.amazonaws.com', AwsService.SSO_OIDC],
    ['LAMBDA', 'lambda.eu-west-1.amazonaws.com', AwsService.LAMBDA],
    ['EVENTBRIDGE', 'events.eu-west-1.amazonaws.com', AwsService.EVENTBRIDGE],
    ['STEP_FUNCTIONS', 'states.eu-west-1.amazonaws.com', AwsService.STEP_FUNCTIONS],
    ['BEDROCK_RUNTIME', 'bedrock-runtime.eu-west-1.amazonaws.com', AwsService.BEDROCK_RUNTIME],
  ])('%s gives %s', (_name, host, service) => {
    expect(AwsEndpoints.hostnames({ services: [service], regions: ['eu-west-1'] })).toEqual([host]);
  });

  test('FIPS adds <prefix>-fips.<region>', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.SSM], regions: ['us-east-1'], fips: true })).toEqual([
      'ssm-fips.us-east-1.amazonaws.com',
      'ssm.us-east-1.amazonaws.com',
    ]);
  });

  test('dual-stack adds <prefix>.<region>.api.aws', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.SSM], regions: ['us-east-1'], dualStack: true })).toEqual([
      'ssm.us-east-1.amazonaws.com',
      'ssm.us-east-1.api.aws',
    ]);
  });

  test('FIPS and dual-stack together add <prefix>-fips.<region>.api.aws', () => {
    expect(
      AwsEndpoints.hostnames({ services: [AwsService.KMS], regions: ['us-east-1'], fips: true, dualStack: true }),
    ).toEqual([
      'kms-fips.us-east-1.amazonaws.com',
      'kms-fips.us-east-1.api.aws',
      'kms.us-east-1.amazonaws.com',
      'kms.us-east-1.api.aws',
    ]);
  });

  test('China regions use amazonaws.com.cn and dual-stack api.amazonwebservices.com.cn', () => {
    expect(
      AwsEndpoints.hostnames({
        services: [AwsService.SSM],
        regions: ['cn-north-1', 'cn-northwest-1'],
        dualStack: true,
      }),
    ).toEqual([
      'ssm.cn-north-1.amazonaws.com.cn',
      'ssm.cn-north-1.api.amazonwebservices.com.cn',
      'ssm.cn-northwest-1.amazonaws.com.cn',
      'ssm.cn-northwest-1.api.amazonwebservices.com.cn',
    ]);
  });
});

describe('AwsService.of', () => {
  test('a custom endpoint prefix gives <prefix>.<region>', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.of('athena')], regions: ['eu-west-1'] })).toEqual([
      'athena.eu-west-1.amazonaws.com',
    ]);
  });

  test('a custom prefix with several labels is kept whole', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.of('data.iot')], regions: ['eu-west-1'] })).toEqual([
      'data.iot.eu-west-1.amazonaws.com',
    ]);
  });

  test('a custom FIPS prefix replaces <prefix>-fips', () => {
    const svc = AwsService.of('api.example-svc', { fipsPrefix: 'example-svc-fips' });
    expect(AwsEndpoints.hostnames({ services: [svc], regions: ['us-east-1'], fips: true })).toEqual([
      'api.example-svc.us-east-1.amazonaws.com',
      'example-svc-fips.us-east-1.amazonaws.com',
    ]);
  });

  test('custom global host names are listed in the commercial partition only', () => {
    const svc = AwsService.of('route53', { globalHostnames: ['route53.amazonaws.com'] });
    expect(AwsEndpoints.hostnames({ services: [svc], regions: ['us-east-1'] })).toEqual([
      'route53.amazonaws.com',
      'route53.us-east-1.amazonaws.com',
    ]);
    expect(AwsEndpoints.hostnames({ services: [svc], regions: ['cn-north-1'] })).toEqual([
      'route53.cn-north-1.amazonaws.com.cn',
    ]);
  });

  test('custom global host names are normalised', () => {
    const svc = AwsService.of('x', { globalHostnames: ['X.Example.COM.'] });
    expect(AwsEndpoints.hostnames({ services: [svc], regions: ['us-east-1'] })).toEqual([
      'x.example.com',
      'x.us-east-1.amazonaws.com',
    ]);
  });

  test.each(['Athena', 'athena_x', '-athena', 'athena-', '', 'athena.', 'ath ena'])(
    'an invalid endpoint prefix (%j) is rejected',
    (prefix) => {
      expect(() => AwsService.of(prefix)).toThrow(`Invalid endpointPrefix '${prefix}'`);
      expect(() => AwsService.of(prefix)).toThrow("lower-case letters, digits, '.' and '-' only");
    },
  );

  test('the constants expose their endpoint prefix', () => {
    expect(AwsService.ECR_API.endpointPrefix).toBe('api.ecr');
    expect(AwsService.of('athena').endpointPrefix).toBe('athena');
  });
});

describe('Session Manager', () => {
  test('sessionManager adds the ssm, ssmmessages and ec2messages endpoints of each Region', () => {
    expect(AwsEndpoints.hostnames({ services: [], regions: ['eu-west-1', 'us-east-1'], sessionManager: true })).toEqual(
      [
        'ec2messages.eu-west-1.amazonaws.com',
        'ec2messages.us-east-1.amazonaws.com',
        'ssm.eu-west-1.amazonaws.com',
        'ssm.us-east-1.amazonaws.com',
        'ssmmessages.eu-west-1.amazonaws.com',
        'ssmmessages.us-east-1.amazonaws.com',
      ],
    );
  });

  test('sessionManager adds to the listed services, and an SSM listed twice appears once', () => {
    const out = AwsEndpoints.hostnames({
      services: [AwsService.STS, AwsService.SSM],
      regions: ['eu-west-1'],
      sessionManager: true,
    });
    expect(out).toEqual([
      'ec2messages.eu-west-1.amazonaws.com',
      'ssm.eu-west-1.amazonaws.com',
      'ssmmessages.eu-west-1.amazonaws.com',
      'sts.amazonaws.com',
      'sts.eu-west-1.amazonaws.com',
    ]);
  });

  test('sessionManager follows the fips option', () => {
    const out = AwsEndpoints.hostnames({ services: [], regions: ['us-east-1'], sessionManager: true, fips: true });
    expect(out).toEqual(
      expect.arrayContaining(['ssm-fips.us-east-1.amazonaws.com', 'ec2messages-fips.us-east-1.amazonaws.com']),
    );
  });

  test('SESSION_MANAGER names the three services the SSM agent uses', () => {
    expect(AwsEndpoints.SESSION_MANAGER.map((s) => s.endpointPrefix)).toEqual(['ssm', 'ssmmessages', 'ec2messages']);
  });

  test('without sessionManager none of them is added', () => {
    expect(AwsEndpoints.hostnames({ services: [AwsService.STS], regions: ['eu-west-1'] }).join()).not.toMatch(
      /ssm|ec2messages/,
    );
  });
});

describe('bad input', () => {
  test('an empty service list is rejected', () => {
    expect(errorFor({ services: [], regions: ['us-east-1'] })).toMatch(
      /^Invalid services \[\]: name at least one AwsService/,
    );
  });

  test('an empty region list is rejected', () => {
    expect(errorFor({ services: [AwsService.STS], regions: [] })).toMatch(
      /^Invalid regions \[\]: name at least one Region/,
    );
  });

  test.each(['us-east', 'US-EAST-1', 'useast1', 'us-east-1 ', 'us-east-1.evil.test', 'us_east_1', '', 'east-1'])(
    'an invalid region (%j) is rejected',
    (region) => {
      const msg = errorFor({ services: [AwsService.STS], regions: [region] });
      expect(msg).toContain(`Invalid regions entry '${region}'`);
      expect(msg).toContain("expected a Region code such as 'us-east-1'");
    },
  );

  test.each([
    'My-Bucket',
    'my_bucket',
    'ab',
    'a'.repeat(64),
    'my..bucket',
    '-bucket',
    'bucket-',
    '.bucket',
    'bucket.',
    'my bucket',
    '192.168.5.4',
  ])('an invalid S3 bucket name (%j) is rejected', (bucket) => {
    const msg = errorFor({ services: [AwsService.S3], regions: ['us-east-1'], s3Buckets: [bucket] });
    expect(msg).toContain(`Invalid s3Buckets entry '${bucket}'`);
    expect(msg).toContain('3-63 characters');
  });

  test('S3 bucket names of 3 and 63 characters are accepted', () => {
    const out = AwsEndpoints.hostnames({
      services: [AwsService.S3],
      regions: ['eu-west-1'],
      s3Buckets: ['abc', 'a'.repeat(63)],
    });
    expect(out).toContain('abc.s3.eu-west-1.amazonaws.com');
    expect(out).toContain(`${'a'.repeat(63)}.s3.eu-west-1.amazonaws.com`);
  });

  test.each(['1234', '1111222233334', '11112222333a', ' 111122223333', ''])(
    'an invalid ECR account ID (%j) is rejected',
    (account) => {
      const msg = errorFor({ services: [AwsService.ECR_DKR], regions: ['us-east-1'], ecrAccountIds: [account] });
      expect(msg).toContain(`Invalid ecrAccountIds entry '${account}'`);
      expect(msg).toContain('expected 12 digits');
    },
  );
});

describe('output', () => {
  test('the output is sorted and de-duplicated', () => {
    const out = AwsEndpoints.hostnames({
      services: [AwsService.STS, AwsService.S3, AwsService.STS, AwsService.IAM],
      regions: ['us-west-2', 'us-east-1', 'us-west-2'],
    });
    expect(out).toEqual([
      'iam.amazonaws.com',
      's3.amazonaws.com',
      's3.us-east-1.amazonaws.com',
      's3.us-west-2.amazonaws.com',
      'sts.amazonaws.com',
      'sts.us-east-1.amazonaws.com',
      'sts.us-west-2.amazonaws.com',
    ]);
  });

  test('a large combination is sorted and has no duplicates', () => {
    const out = AwsEndpoints.hostnames({
      services: [...ALL_SERVICES, ...ALL_SERVICES],
      regions: ['us-east-1', 'eu-west-1', 'us-east-1'],
      s3Buckets: ['bkt1', 'bkt2', 'bkt1'],
      ecrAccountIds: [ACCOUNT, ACCOUNT],
      fips: true,
      dualStack: true,
    });
    expect(out).toEqual([...new Set(out)].sort());
    expect(new Set(out).size).toBe(out.length);
  });

  test.each<[string, AwsEndpointsOptions]>([
    [
      'every service in commercial regions with FIPS, dual-stack, buckets and accounts',
      {
        services: ALL_SERVICES,
        regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
        s3Buckets: ['my-artifacts', 'logs.example.v2'],
        ecrAccountIds: [ACCOUNT, OTHER_ACCOUNT],
        fips: true,
        dualStack: true,
      },
    ],
    [
      'every service in China regions',
      {
        services: ALL_SERVICES,
        regions: ['cn-north-1', 'cn-northwest-1'],
        s3Buckets: ['my-artifacts'],
        ecrAccountIds: [ACCOUNT],
        dualStack: true,
      },
    ],
    [
      'every service in GovCloud regions',
      {
        services: ALL_SERVICES,
        regions: ['us-gov-west-1', 'us-gov-east-1'],
        s3Buckets: ['my-artifacts'],
        ecrAccountIds: [ACCOUNT],
        fips: true,
      },
    ],
  ])('%s is accepted by EgressPolicy unchanged and without any warning', (_what, options) => {
    const out = AwsEndpoints.hostnames(options);
    expect(out.length).toBeGreaterThan(ALL_SERVICES.length);
    const policy = new EgressPolicy({ allowedDomains: out });
    // No public-suffix warning (nor any other): every name is exact.
    expect(policy.warnings).toEqual([]);
    // Nothing was dropped or rewritten: every output is an exact name.
    expect(policy.domains).toEqual(out);
    expect(policy.subdomainOnlyNames).toEqual([]);
    for (const host of out) expect(policy.evaluate({ host }).allowed).toBe(true);
  });

  test('no output is a wildcard over amazonaws.com', () => {
    const out = AwsEndpoints.hostnames({
      services: ALL_SERVICES,
      regions: ['us-east-1'],
      ecrAccountIds: [ACCOUNT],
    });
    for (const host of out) expect(host).not.toMatch(/^[.*]/);
    expect(out).not.toContain('amazonaws.com');
  });
});
