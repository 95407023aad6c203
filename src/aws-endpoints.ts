import { parseDomainEntry } from './private/domain-name';
import { REGION_NAME } from './private/validation';

/**
 * Options for an {@link AwsService} defined with {@link AwsService.of}.
 */
export interface AwsServiceOptions {
  /**
   * The FIPS endpoint prefix.
   * @default - `<endpointPrefix>-fips`
   */
  readonly fipsPrefix?: string;
  /**
   * Host names of the service's global (region-less) endpoints in the `aws` partition.
   * @default - the service has no global endpoint
   */
  readonly globalHostnames?: string[];
}

/**
 * An AWS service whose endpoint host names {@link AwsEndpoints} can build.
 *
 * Use the constants, or {@link AwsService.of} with the service's endpoint prefix for any other
 * service (the first label of `<prefix>.<region>.amazonaws.com`).
 */
export class AwsService {
  /** AWS Security Token Service, with its global endpoint `sts.amazonaws.com`. */
  public static readonly STS = new AwsService('sts', { globalHostnames: ['sts.amazonaws.com'] });
  /** Amazon S3: the regional endpoint; buckets are added with `s3Buckets` (virtual-hosted style). */
  public static readonly S3 = new AwsService('s3');
  /** Amazon EC2. */
  public static readonly EC2 = new AwsService('ec2');
  /** AWS Systems Manager. */
  public static readonly SSM = new AwsService('ssm');
  /** Systems Manager Session Manager channels. */
  public static readonly SSM_MESSAGES = new AwsService('ssmmessages');
  /** Systems Manager agent messages. */
  public static readonly EC2_MESSAGES = new AwsService('ec2messages');
  /** Amazon CloudWatch Logs. */
  public static readonly CLOUDWATCH_LOGS = new AwsService('logs');
  /** Amazon CloudWatch (metrics and alarms). */
  public static readonly CLOUDWATCH = new AwsService('monitoring');
  /** AWS Key Management Service. */
  public static readonly KMS = new AwsService('kms');
  /** AWS Secrets Manager. */
  public static readonly SECRETS_MANAGER = new AwsService('secretsmanager');
  /** Amazon ECR API (`aws ecr …`). */
  public static readonly ECR_API = new AwsService('api.ecr', { fipsPrefix: 'ecr-fips' });
  /**
   * Amazon ECR registries (docker pull/push): `<account>.dkr.ecr.<region>.amazonaws.com` for each
   * of `ecrAccountIds`, plus the regional S3 bucket that serves image layers.
   */
  public static readonly ECR_DKR = new AwsService('dkr.ecr');
  /** IAM Identity Center portal (`aws sso login`). */
  public static readonly SSO = new AwsService('portal.sso');
  /** IAM Identity Center OIDC (`aws sso login` device flow). */
  public static readonly SSO_OIDC = new AwsService('oidc');
  /** AWS Identity and Access Management: global only. */
  public static readonly IAM = new AwsService('iam', { globalHostnames: ['iam.amazonaws.com'] }, true);
  /** AWS Lambda. */
  public static readonly LAMBDA = new AwsService('lambda');
  /** Amazon DynamoDB. */
  public static readonly DYNAMODB = new AwsService('dynamodb');
  /** Amazon SQS. */
  public static readonly SQS = new AwsService('sqs');
  /** Amazon SNS. */
  public static readonly SNS = new AwsService('sns');
  /** AWS CloudFormation. */
  public static readonly CLOUDFORMATION = new AwsService('cloudformation');
  /** Amazon EventBridge. */
  public static readonly EVENTBRIDGE = new AwsService('events');
  /** Amazon ECS. */
  public static readonly ECS = new AwsService('ecs');
  /** Amazon EKS. */
  public static readonly EKS = new AwsService('eks');
  /** AWS Step Functions. */
  public static readonly STEP_FUNCTIONS = new AwsService('states');
  /** Amazon Bedrock runtime. */
  public static readonly BEDROCK_RUNTIME = new AwsService('bedrock-runtime');

  /**
   * Any other service, by endpoint prefix (`athena` for `athena.<region>.amazonaws.com`).
   */
  public static of(endpointPrefix: string, options: AwsServiceOptions = {}): AwsService {
    return new AwsService(endpointPrefix, options);
  }

  private constructor(
    /** The endpoint prefix (first labels of the regional host name). */
    public readonly endpointPrefix: string,
    private readonly options: AwsServiceOptions = {},
    private readonly globalOnly: boolean = false,
  ) {
    if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(endpointPrefix)) {
      throw new Error(`Invalid endpointPrefix '${endpointPrefix}': lower-case letters, digits, '.' and '-' only`);
    }
  }

  /** @internal */
  public _hostnames(ctx: HostnameContext): string[] {
    const out: string[] = [];
    const { region, suffix, dualStackSuffix, commercial } = ctx;
    if (commercial) out.push(...(this.options.globalHostnames ?? []));
    if (this === AwsService.IAM) {
      // One IAM endpoint per partition (plus FIPS and dual-stack names in the commercial one).
      if (commercial) {
        if (ctx.fips) out.push('iam-fips.amazonaws.com');
        if (ctx.dualStack) out.push('iam.global.api.aws');
      } else if (region.startsWith('cn-')) {
        out.push('iam.cn-north-1.amazonaws.com.cn');
        if (ctx.dualStack) out.push('iam.global.api.amazonwebservices.com.cn');
      } else if (region.startsWith('us-gov-')) {
        out.push('iam.us-gov.amazonaws.com');
      } else {
        throw new Error(
          `AwsService.IAM: no known IAM endpoint for region '${region}'; use AwsService.of with globalHostnames`,
        );
      }
    }
    if (this.globalOnly) return out;
    const p = this.endpointPrefix;
    const fips = this.options.fipsPrefix ?? `${p}-fips`;
    if (this === AwsService.S3) {
      const bases = [`s3.${region}.${suffix}`];
      if (region === 'us-east-1') bases.push(`s3.${suffix}`);
      if (ctx.fips) bases.push(`s3-fips.${region}.${suffix}`);
      if (ctx.dualStack) bases.push(`s3.dualstack.${region}.${suffix}`);
      if (ctx.fips && ctx.dualStack) bases.push(`s3-fips.dualstack.${region}.${suffix}`);
      out.push(...bases);
      for (const b of ctx.s3Buckets) out.push(...bases.map((base) => `${b}.${base}`));
      return out;
    }
    if (this === AwsService.ECR_DKR) {
      if (ctx.ecrAccountIds.length === 0) {
        throw new Error(
          'AwsService.ECR_DKR needs ecrAccountIds: registry host names are <account>.dkr.ecr.<region>.amazonaws.com, and a wildcard would let anyone push to their own registry',
        );
      }
      for (const a of ctx.ecrAccountIds) {
        out.push(`${a}.dkr.ecr.${region}.${suffix}`);
        if (ctx.fips) out.push(`${a}.dkr.ecr-fips.${region}.${suffix}`);
        // Dual-stack registries are <account>.dkr-ecr[-fips].<region>.on.aws (documented for the commercial partition).
        if (ctx.dualStack && commercial) out.push(`${a}.dkr-ecr.${region}.on.aws`);
        if (ctx.dualStack && ctx.fips && commercial) out.push(`${a}.dkr-ecr-fips.${region}.on.aws`);
      }
      // Image layers come from a regional S3 bucket; in us-east-1 through its legacy global name too.
      out.push(`prod-${region}-starport-layer-bucket.s3.${region}.${suffix}`);
      if (region === 'us-east-1') out.push(`prod-${region}-starport-layer-bucket.s3.${suffix}`);
      return out;
    }
    out.push(`${p}.${region}.${suffix}`);
    if (ctx.fips) out.push(`${fips}.${region}.${suffix}`);
    // The ECR API's dual-stack name is ecr.<region>.api.aws, not api.ecr.<region>.api.aws.
    const dualStackPrefix = this === AwsService.ECR_API ? 'ecr' : p;
    if (ctx.dualStack) out.push(`${dualStackPrefix}.${region}.${dualStackSuffix}`);
    if (ctx.fips && ctx.dualStack) out.push(`${fips}.${region}.${dualStackSuffix}`);
    return out;
  }
}

/** @internal */
export interface HostnameContext {
  readonly region: string;
  readonly suffix: string;
  readonly dualStackSuffix: string;
  readonly commercial: boolean;
  readonly fips: boolean;
  readonly dualStack: boolean;
  readonly s3Buckets: string[];
  readonly ecrAccountIds: string[];
}

/**
 * Options for {@link AwsEndpoints.hostnames}.
 */
export interface AwsEndpointsOptions {
  /** The services to reach. */
  readonly services: AwsService[];
  /** The regions to reach them in, e.g. `['us-east-1']`. */
  readonly regions: string[];
  /**
   * Also allow the FIPS endpoints (`<prefix>-fips.<region>.amazonaws.com`).
   * @default false
   */
  readonly fips?: boolean;
  /**
   * Also allow the dual-stack endpoints (`<prefix>.<region>.api.aws`; for S3
   * `s3.dualstack.<region>.amazonaws.com`).
   * @default false
   */
  readonly dualStack?: boolean;
  /**
   * S3 buckets to reach with virtual-hosted-style names (`<bucket>.s3.<region>.amazonaws.com`).
   * @default - no bucket names, only the regional S3 endpoint (path-style and ListBuckets)
   */
  readonly s3Buckets?: string[];
  /**
   * Account IDs whose ECR registries {@link AwsService.ECR_DKR} may reach.
   * @default - none (required with ECR_DKR)
   */
  readonly ecrAccountIds?: string[];
  /**
   * Also allow what Session Manager and Run Command need on an instance behind the proxy: the
   * endpoints of {@link AwsEndpoints.SESSION_MANAGER} (`ssm`, `ssmmessages`, `ec2messages`).
   * Without them, an instance sent through the proxy (e.g. by
   * `EgressProxyEndpoint.configureInstance`) drops out of Session Manager.
   * @default false
   */
  readonly sessionManager?: boolean;
}

/**
 * Builds exact AWS endpoint host names, so an allowlist never needs `.amazonaws.com` (a wildcard
 * that anyone can receive traffic under, via their own S3 bucket or EC2 host name).
 *
 * @example
 * const domains = AwsEndpoints.hostnames({
 *   services: [AwsService.STS, AwsService.S3],
 *   regions: ['us-east-1'],
 *   s3Buckets: ['my-artifacts'],
 * });
 */
export class AwsEndpoints {
  /**
   * The services the SSM agent talks to for Session Manager and Run Command: `ssm`,
   * `ssmmessages` and `ec2messages` (the `sessionManager` option adds them).
   */
  public static readonly SESSION_MANAGER: AwsService[] = [
    AwsService.SSM,
    AwsService.SSM_MESSAGES,
    AwsService.EC2_MESSAGES,
  ];

  /**
   * Exact host names for the given services in the given regions, sorted and de-duplicated.
   */
  public static hostnames(options: AwsEndpointsOptions): string[] {
    const services = [...options.services, ...(options.sessionManager ? AwsEndpoints.SESSION_MANAGER : [])];
    if (services.length === 0) {
      throw new Error('Invalid services []: name at least one AwsService (or set sessionManager: true)');
    }
    if (options.regions.length === 0) {
      throw new Error("Invalid regions []: name at least one Region (e.g. 'us-east-1')");
    }
    for (const r of options.regions) {
      if (!REGION_NAME.test(r)) {
        throw new Error(`Invalid regions entry '${r}': expected a Region code such as 'us-east-1' or 'eu-central-2'`);
      }
    }
    const buckets = options.s3Buckets ?? [];
    for (const b of buckets) {
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b) || b.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(b)) {
        throw new Error(
          `Invalid s3Buckets entry '${b}': 3-63 characters of lower-case letters, digits, '.' and '-', starting and ending with a letter or digit, and not an IP address`,
        );
      }
    }
    const accounts = options.ecrAccountIds ?? [];
    for (const a of accounts) {
      if (!/^\d{12}$/.test(a)) throw new Error(`Invalid ecrAccountIds entry '${a}': expected 12 digits`);
    }
    const out = new Set<string>();
    for (const region of options.regions) {
      const china = region.startsWith('cn-');
      const ctx: HostnameContext = {
        region,
        suffix: china ? 'amazonaws.com.cn' : 'amazonaws.com',
        dualStackSuffix: china ? 'api.amazonwebservices.com.cn' : 'api.aws',
        commercial: !china && !region.startsWith('us-gov-') && !region.startsWith('us-iso'),
        fips: options.fips ?? false,
        dualStack: options.dualStack ?? false,
        s3Buckets: buckets,
        ecrAccountIds: accounts,
      };
      for (const s of services) for (const h of s._hostnames(ctx)) out.add(parseDomainEntry(h).name);
    }
    return [...out].sort();
  }

  private constructor() {}
}
