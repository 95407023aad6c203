import { AwsEndpoints, AwsEndpointsOptions, AwsService } from '../aws-endpoints';
import { EgressRule } from '../egress-rule';
import { isIpLiteral } from './domain-name';
import { publicSuffixWildcard } from './public-suffix';
import { AccessLogRecord, SkipReason } from './suggest-log';
import { REGION_NAME } from './validation';

/**
 * `suggest`: from access-log records, the policy that would have allowed what the proxy let
 * through (in audit mode: everything but the guardrails): the names with counts, the ports, plain
 * HTTP, AWS endpoint names mapped back to `AwsEndpoints` presets, and who asked for what.
 */

/** Options of {@link suggestPolicy}. */
export interface SuggestOptions {
  /** Group names that share a parent domain into one `*.parent` (or `.parent`) entry. */
  readonly wildcards?: boolean;
  /** With `wildcards`: the fewest distinct names under one parent that make a wildcard. */
  readonly minNamesPerWildcard?: number;
}

/** A name and how many requests used it. */
export interface NameCount {
  readonly name: string;
  readonly count: number;
}

/** One allowlist entry of the suggestion: an exact name, or a wildcard with the names it covers. */
export interface SuggestedEntry {
  readonly entry: string;
  readonly count: number;
  /** For a wildcard: the names seen under it. */
  readonly names?: NameCount[];
}

/** AWS endpoint names that one `AwsEndpoints.hostnames` call builds. */
export interface SuggestedAwsEndpoints {
  /** The `AwsService` constant (`STS`), or undefined for `AwsService.of(endpointPrefix)`. */
  readonly service?: string;
  readonly endpointPrefix: string;
  readonly regions: string[];
  readonly fips?: boolean;
  readonly dualStack?: boolean;
  readonly s3Buckets?: string[];
  readonly ecrAccountIds?: string[];
  /** The names seen that the call builds. */
  readonly names: NameCount[];
  /** Names the call builds that were not seen (it allows them too). */
  readonly alsoAllows: string[];
}

/**
 * One consumer: the policy consumers the log names (`consumer=`), else a VPC endpoint ID, else a
 * client address.
 */
export interface SuggestedConsumer {
  /** The policy's consumer names the lines carry, comma-separated. */
  readonly consumer?: string;
  readonly endpointId?: string;
  readonly sources: string[];
  readonly requests: number;
  readonly names: NameCount[];
}

/** A destination no allowlist can open (a guardrail, an IP literal, non-TLS bytes in a tunnel). */
export interface NotAllowable {
  readonly destination: string;
  readonly rule: string;
  readonly count: number;
}

/** The suggested policy (`EgressPolicyProps`, as plain JSON). */
export interface SuggestedPolicyProps {
  readonly allowedDomains: string[];
  readonly ports?: number[];
  readonly allowPlainHttp?: boolean;
}

/** What `suggest` prints. */
export interface Suggestion {
  readonly policy: SuggestedPolicyProps;
  readonly entries: SuggestedEntry[];
  readonly awsEndpoints: SuggestedAwsEndpoints[];
  readonly consumers: SuggestedConsumer[];
  readonly notAllowable: NotAllowable[];
  readonly lines: {
    readonly read: number;
    /** Requests the suggestion covers (allowed, or let through by audit mode). */
    readonly suggested: number;
    /** Requests denied without an audit mark (enforce mode, or a guardrail in audit mode). */
    readonly denied: number;
    /** Lines without a decision (`rule=-`: the transaction ended before the policy decided). */
    readonly undecided: number;
    readonly skipped: Record<SkipReason, number>;
  };
}

/** Rules no allowlist entry can lift. */
const NOT_ALLOWABLE = new Set<string>([
  EgressRule.INVALID_IP_LITERAL,
  EgressRule.TO_LOCALHOST,
  EgressRule.TO_LINK_LOCAL,
  EgressRule.TO_PRIVATE,
  EgressRule.TO_PROVIDER_VPC,
  EgressRule.IP_LITERAL,
  EgressRule.NOT_TLS,
]);

/** Collects records and skipped lines, then builds the {@link Suggestion}. */
export class SuggestionBuilder {
  private readonly names = new Map<string, number>();
  private readonly consumers = new Map<
    string,
    { consumer?: string; endpointId?: string; sources: Set<string>; requests: number; names: Map<string, number> }
  >();
  private readonly ports = new Map<number, number>();
  private plainHttp = 0;
  private readonly notAllowable = new Map<string, NotAllowable>();
  private read = 0;
  private suggested = 0;
  private denied = 0;
  private undecided = 0;
  private readonly skipped: Record<SkipReason, number> = { tooLong: 0, nonUtf8: 0, malformed: 0, unknownRule: 0 };

  /** Count a line that was skipped. */
  public skip(reason: SkipReason): void {
    this.read++;
    this.skipped[reason]++;
  }

  /** Add one access-log record. */
  public add(r: AccessLogRecord): void {
    this.read++;
    if (r.rule === '-') {
      this.undecided++;
      return;
    }
    const plain = r.method !== 'CONNECT';
    const notAllowable = NOT_ALLOWABLE.has(r.rule) || isIpLiteral(r.host) || (plain && r.port !== 80);
    if (notAllowable) {
      const destination = `${r.host}:${r.port}`;
      const rule = plain && r.port !== 80 && !NOT_ALLOWABLE.has(r.rule) ? 'plain-http-port-not-80' : r.rule;
      const key = `${destination} ${rule}`;
      const prev = this.notAllowable.get(key);
      this.notAllowable.set(key, { destination, rule, count: (prev?.count ?? 0) + 1 });
      return;
    }
    if (r.rule !== EgressRule.ALLOWLISTED && !r.audited) {
      this.denied++;
      return;
    }
    this.suggested++;
    const hostNames = r.sni && r.sni !== r.host ? [r.host, r.sni] : [r.host];
    const consumer = r.consumers?.join(',');
    const key = consumer !== undefined ? `consumer ${consumer} ${r.endpointId ?? ''}` : (r.endpointId ?? r.client);
    let c = this.consumers.get(key);
    if (!c) {
      c = { consumer, endpointId: r.endpointId, sources: new Set(), requests: 0, names: new Map() };
      this.consumers.set(key, c);
    }
    c.sources.add(r.client);
    c.requests++;
    for (const n of hostNames) {
      this.names.set(n, (this.names.get(n) ?? 0) + 1);
      c.names.set(n, (c.names.get(n) ?? 0) + 1);
    }
    if (plain) this.plainHttp++;
    else this.ports.set(r.port, (this.ports.get(r.port) ?? 0) + 1);
  }

  /** The suggestion for everything added. */
  public build(options: SuggestOptions = {}): Suggestion {
    const all = sortedCounts(this.names);
    const aws = mapAwsEndpoints(all);
    const awsNames = new Set(aws.flatMap((a) => a.names.map((n) => n.name)));
    const others = all.filter((n) => !awsNames.has(n.name));
    const grouped = options.wildcards ? groupWildcards(others, options.minNamesPerWildcard ?? 2) : others.map(exact);
    const entries = [...all.filter((n) => awsNames.has(n.name)).map(exact), ...grouped].sort((a, b) =>
      a.entry.replace(/^[*.]+/, '').localeCompare(b.entry.replace(/^[*.]+/, '')),
    );
    const connectPorts = [...this.ports.keys()].sort((a, b) => a - b);
    const policy: SuggestedPolicyProps = {
      allowedDomains: entries.map((e) => e.entry),
      ...(connectPorts.length > 0 && !(connectPorts.length === 1 && connectPorts[0] === 443)
        ? { ports: connectPorts }
        : {}),
      ...(this.plainHttp > 0 ? { allowPlainHttp: true } : {}),
    };
    return {
      policy,
      entries,
      awsEndpoints: aws,
      consumers: [...this.consumers.values()]
        .map((c) => ({
          ...(c.consumer ? { consumer: c.consumer } : {}),
          ...(c.endpointId ? { endpointId: c.endpointId } : {}),
          sources: [...c.sources].sort(),
          requests: c.requests,
          names: sortedCounts(c.names),
        }))
        .sort(
          (a, b) =>
            b.requests - a.requests || (a.endpointId ?? a.sources[0]).localeCompare(b.endpointId ?? b.sources[0]),
        ),
      notAllowable: [...this.notAllowable.values()].sort(
        (a, b) => b.count - a.count || a.destination.localeCompare(b.destination),
      ),
      lines: {
        read: this.read,
        suggested: this.suggested,
        denied: this.denied,
        undecided: this.undecided,
        skipped: { ...this.skipped },
      },
    };
  }
}

function exact(n: NameCount): SuggestedEntry {
  return { entry: n.name, count: n.count };
}

function sortedCounts(m: Map<string, number>): NameCount[] {
  return [...m.entries()].map(([name, count]) => ({ name, count })).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * One level of grouping: names that share a parent (`a.example.com` and `b.example.com` under
 * `example.com`) become `*.example.com`, or `.example.com` when the parent itself was seen too.
 * Never over a public suffix (anyone can register a name there: `*.co.uk`, `*.s3.amazonaws.com`)
 * and never under `amazonaws.com`, where exact names (and `AwsEndpoints`) are the point.
 */
function groupWildcards(names: NameCount[], minNames: number): SuggestedEntry[] {
  const byParent = new Map<string, NameCount[]>();
  for (const n of names) {
    const dot = n.name.indexOf('.');
    const parent = n.name.slice(dot + 1);
    if (dot === -1 || !parent.includes('.')) continue;
    byParent.set(parent, [...(byParent.get(parent) ?? []), n]);
  }
  const seen = new Map(names.map((n) => [n.name, n]));
  const covered = new Set<string>();
  const out: SuggestedEntry[] = [];
  for (const [parent, children] of byParent) {
    if (children.length < Math.max(2, minNames)) continue;
    if (publicSuffixWildcard(parent) !== undefined || /(^|\.)amazonaws\.com(\.cn)?$|(^|\.)api\.aws$/.test(parent)) {
      continue;
    }
    const apex = seen.get(parent);
    const members = apex ? [apex, ...children] : children;
    if (members.some((m) => covered.has(m.name))) continue;
    members.forEach((m) => covered.add(m.name));
    out.push({
      entry: apex ? `.${parent}` : `*.${parent}`,
      count: members.reduce((s, m) => s + m.count, 0),
      names: members,
    });
  }
  return [...out, ...names.filter((n) => !covered.has(n.name)).map(exact)];
}

/** The `AwsService` constants by name. */
const SERVICES: Array<[string, AwsService]> = Object.entries(AwsService).filter(
  (e): e is [string, AwsService] => e[1] instanceof AwsService,
);

/** The `AwsEndpoints.hostnames` call that builds one name. */
export interface AwsMatch {
  readonly key: string;
  readonly service?: string;
  readonly endpointPrefix: string;
  readonly region: string;
  readonly fips: boolean;
  readonly dualStack: boolean;
  readonly bucket?: string;
  readonly account?: string;
}

const VARIANTS = [
  { fips: false, dualStack: false },
  { fips: true, dualStack: false },
  { fips: false, dualStack: true },
  { fips: true, dualStack: true },
];

/** The `AwsEndpoints.hostnames` call that builds `name`, if one does. */
export function matchAwsEndpoint(name: string): AwsMatch | undefined {
  if (!/\.(amazonaws\.com(\.cn)?|api\.aws|api\.amazonwebservices\.com\.cn|on\.aws)$/.test(name)) return undefined;
  const labels = name.split('.');
  const regions = labels.filter((l) => REGION_NAME.test(l));
  // Region-less names (sts.amazonaws.com, s3.amazonaws.com) are built with us-east-1.
  const candidates = regions.length > 0 ? regions : ['us-east-1'];
  const bucket = /^(.+)\.s3(-fips)?(\.dualstack)?(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$/.exec(name)?.[1];
  const account = /^(\d{12})\.dkr[.-]ecr/.exec(name)?.[1];
  const build = (
    service: AwsService,
    region: string,
    variant: (typeof VARIANTS)[number],
    extra: Partial<AwsEndpointsOptions>,
  ) => {
    try {
      return AwsEndpoints.hostnames({ services: [service], regions: [region], ...variant, ...extra });
    } catch {
      return [];
    }
  };
  for (const region of candidates) {
    for (const variant of VARIANTS) {
      for (const [key, service] of SERVICES) {
        const extra = {
          ...(service === AwsService.S3 && bucket && !bucket.startsWith('s3') ? { s3Buckets: [bucket] } : {}),
          ...(service === AwsService.ECR_DKR && account ? { ecrAccountIds: [account] } : {}),
        };
        if (build(service, region, variant, {}).includes(name)) {
          return { key, service: key, endpointPrefix: service.endpointPrefix, region, ...variant };
        }
        if (Object.keys(extra).length > 0 && build(service, region, variant, extra).includes(name)) {
          return {
            key,
            service: key,
            endpointPrefix: service.endpointPrefix,
            region,
            ...variant,
            ...(extra.s3Buckets ? { bucket } : {}),
            ...(extra.ecrAccountIds ? { account } : {}),
          };
        }
      }
    }
  }
  // Any other service: <prefix>.<region>.amazonaws.com is AwsService.of('<prefix>').
  const other = /^([a-z0-9]([a-z0-9.-]*[a-z0-9])?)\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(name);
  if (other && REGION_NAME.test(other[3]) && !other[1].split('.').some((l) => REGION_NAME.test(l))) {
    const service = AwsService.of(other[1]);
    if (build(service, other[3], VARIANTS[0], {}).includes(name)) {
      return { key: `of:${other[1]}`, endpointPrefix: other[1], region: other[3], fips: false, dualStack: false };
    }
  }
  return undefined;
}

/** Names grouped into one `AwsEndpoints.hostnames` call per service (and FIPS/dual-stack variant). */
function mapAwsEndpoints(names: NameCount[]): SuggestedAwsEndpoints[] {
  const groups = new Map<
    string,
    { match: AwsMatch; regions: Set<string>; buckets: Set<string>; accounts: Set<string>; names: NameCount[] }
  >();
  for (const n of names) {
    const m = matchAwsEndpoint(n.name);
    if (!m) continue;
    const key = `${m.key} ${m.fips} ${m.dualStack}`;
    let g = groups.get(key);
    if (!g) {
      g = { match: m, regions: new Set(), buckets: new Set(), accounts: new Set(), names: [] };
      groups.set(key, g);
    }
    g.regions.add(m.region);
    if (m.bucket) g.buckets.add(m.bucket);
    if (m.account) g.accounts.add(m.account);
    g.names.push(n);
  }
  return [...groups.values()].map((g) => {
    const regions = [...g.regions].sort();
    const s3Buckets = [...g.buckets].sort();
    const ecrAccountIds = [...g.accounts].sort();
    const options = {
      regions,
      ...(g.match.fips ? { fips: true } : {}),
      ...(g.match.dualStack ? { dualStack: true } : {}),
      ...(s3Buckets.length > 0 ? { s3Buckets } : {}),
      ...(ecrAccountIds.length > 0 ? { ecrAccountIds } : {}),
    };
    const service = g.match.service ? (AwsService as any)[g.match.service] : AwsService.of(g.match.endpointPrefix);
    const seen = new Set(g.names.map((n) => n.name));
    const built = AwsEndpoints.hostnames({ services: [service], ...options });
    return {
      ...(g.match.service ? { service: g.match.service } : {}),
      endpointPrefix: g.match.endpointPrefix,
      ...options,
      names: g.names,
      alsoAllows: built.filter((h) => !seen.has(h)),
    };
  });
}

/** The suggestion as JSON (the `policy` member is `EgressPolicyProps`). */
export function renderJson(s: Suggestion): string {
  return `${JSON.stringify(s, undefined, 2)}\n`;
}

/** The suggestion as TypeScript: `AwsEndpoints` calls for AWS names, the rest as entries, with counts. */
export function renderTypeScript(s: Suggestion): string {
  const awsNames = new Set(s.awsEndpoints.flatMap((a) => a.names.map((n) => n.name)));
  const q = (v: string) => `'${v}'`;
  const lines = [
    `// Suggested by \`cdk-private-egress-proxy suggest\` from ${s.lines.read} log lines: ` +
      `${s.lines.suggested} requests to allow, ${s.lines.denied} denied, ${skippedTotal(s)} skipped.`,
    "import { AwsEndpoints, AwsService, EgressPolicy } from 'cdk-private-egress-proxy';",
    '',
    'const allowedDomains = [',
  ];
  for (const a of s.awsEndpoints) {
    const service = a.service ? `AwsService.${a.service}` : `AwsService.of(${q(a.endpointPrefix)})`;
    const opts = [`services: [${service}]`, `regions: [${a.regions.map(q).join(', ')}]`];
    if (a.fips) opts.push('fips: true');
    if (a.dualStack) opts.push('dualStack: true');
    if (a.s3Buckets) opts.push(`s3Buckets: [${a.s3Buckets.map(q).join(', ')}]`);
    if (a.ecrAccountIds) opts.push(`ecrAccountIds: [${a.ecrAccountIds.map(q).join(', ')}]`);
    for (const n of a.names) lines.push(`  // ${n.name}: ${plural(n.count)}`);
    if (a.alsoAllows.length > 0) lines.push(`  // also allows: ${a.alsoAllows.join(', ')}`);
    lines.push(`  ...AwsEndpoints.hostnames({ ${opts.join(', ')} }),`);
  }
  for (const e of s.entries.filter((x) => !awsNames.has(x.entry))) {
    const covers = e.names ? ` (${e.names.map((n) => `${n.name} ${n.count}`).join(', ')})` : '';
    lines.push(`  ${q(e.entry)}, // ${plural(e.count)}${covers}`);
  }
  lines.push('];');
  const props = ['allowedDomains'];
  if (s.policy.ports) props.push(`ports: [${s.policy.ports.join(', ')}]`);
  if (s.policy.allowPlainHttp) props.push('allowPlainHttp: true');
  lines.push(`export const policy = new EgressPolicy({ ${props.join(', ')} });`);
  if (s.consumers.length > 0) {
    lines.push(
      '',
      '// Per consumer (policy consumer and endpoint ID, or client address when the log names no endpoint):',
    );
    for (const c of s.consumers) {
      const id = c.endpointId ? `${c.endpointId} (from ${c.sources.join(', ')})` : c.sources.join(', ');
      const who = c.consumer ? `consumer ${c.consumer}, ${id}` : id;
      lines.push(`//   ${who}: ${plural(c.requests)}: ${c.names.map((n) => `${n.name} ${n.count}`).join(', ')}`);
    }
  }
  if (s.notAllowable.length > 0) {
    lines.push('', '// Not allowable by any allowlist entry (guardrails, IP literals, non-TLS tunnels):');
    for (const n of s.notAllowable) lines.push(`//   ${n.destination} ${n.rule}: ${plural(n.count)}`);
  }
  return `${lines.join('\n')}\n`;
}

function plural(n: number): string {
  return `${n} request${n === 1 ? '' : 's'}`;
}

/** Skipped lines in total. */
export function skippedTotal(s: Suggestion): number {
  return Object.values(s.lines.skipped).reduce((a, b) => a + b, 0);
}
