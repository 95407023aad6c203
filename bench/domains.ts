import { AwsEndpoints, AwsService } from '../src';

/** A small deterministic PRNG (Park–Miller), so every run uses the same lists and mixes. */
export function rng(seed: number): () => number {
  let a = (seed % 2147483646) + 1;
  return () => {
    a = (a * 48271) % 2147483647;
    return (a - 1) / 2147483646;
  };
}

const SERVICES = [
  AwsService.STS,
  AwsService.S3,
  AwsService.EC2,
  AwsService.SSM,
  AwsService.SSM_MESSAGES,
  AwsService.EC2_MESSAGES,
  AwsService.CLOUDWATCH_LOGS,
  AwsService.CLOUDWATCH,
  AwsService.KMS,
  AwsService.SECRETS_MANAGER,
  AwsService.ECR_API,
  AwsService.LAMBDA,
  AwsService.DYNAMODB,
  AwsService.SQS,
  AwsService.SNS,
  AwsService.CLOUDFORMATION,
];
const REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-2',
  'eu-west-1',
  'eu-central-1',
  'ap-northeast-1',
  'ap-southeast-2',
  'sa-east-1',
];

/** A realistic allowlist split by kind, `n` entries in total, none covering another. */
export interface DomainList {
  /** Everything, as given to EgressPolicy. */
  readonly all: string[];
  /** Exact names (AWS endpoints and others). */
  readonly exact: string[];
  /** `.name` entries (name and subdomains), without the dot. */
  readonly wildcard: string[];
  /** `*.name` entries (subdomains only), without the `*.`. */
  readonly subdomainOnly: string[];
}

/**
 * About a fifth exact AWS endpoint names (AwsEndpoints.hostnames, with FIPS and dual-stack names
 * when more are needed), then synthetic names: 70% exact, 20% `.name`, 10% `*.name`.
 */
export function makeDomains(n: number): DomainList {
  const aws = AwsEndpoints.hostnames({ services: SERVICES, regions: REGIONS, fips: true, dualStack: true });
  const exact = aws.slice(0, Math.max(1, Math.floor(n / 5)));
  const wildcard: string[] = [];
  const subdomainOnly: string[] = [];
  for (let i = 0; exact.length + wildcard.length + subdomainOnly.length < n; i++) {
    const k = i % 10;
    if (k < 7) exact.push(`api-${i}.svc${i % 97}.team${i % 1009}.example.com`);
    else if (k < 9) wildcard.push(`cdn${i}.example.org`);
    else subdomainOnly.push(`tenant${i}.example.net`);
  }
  const all = [...exact, ...wildcard.map((w) => `.${w}`), ...subdomainOnly.map((s) => `*.${s}`)];
  return { all, exact, wildcard, subdomainOnly };
}
