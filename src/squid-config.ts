import { isIP } from 'node:net';
import { Duration, Token } from 'aws-cdk-lib';
import { EgressPolicy } from './egress-policy';
import { CidrSet, parseCidr } from './private/cidr';
import { hostFile } from './private/host-files';
import { ChainLines, renderChain, valueLines } from './private/squid-rules';

/**
 * Where and how the rendered Squid configuration runs. Every path is an option, so the very
 * same configuration runs on an instance and in tests.
 */
export interface SquidRenderOptions {
  /**
   * The TCP port Squid listens on.
   * @default 3128
   */
  readonly port?: number;
  /**
   * The address Squid listens on: one IPv4 or IPv6 address (no brackets, port or host name).
   * A token is written as it is.
   * @default - all addresses
   */
  readonly listenAddress?: string;
  /**
   * Require a PROXY protocol v2 header on every connection, and accept it only from these
   * networks (the NLB's subnets). The header's client address and VPC endpoint ID then drive
   * the policy's `sourceCidrs` and `allowedEndpointIds`. Anyone else who reaches Squid directly
   * could forge the header, so keep the instances' security group limited to the NLB.
   *
   * @default - PROXY protocol off: the socket peer is the client
   */
  readonly proxyProtocolSources?: string[];
  /**
   * vCPUs of the instance: Squid runs one worker per vCPU and the file-descriptor limit is
   * derived from it.
   * @default 1
   */
  readonly vcpus?: number;
  /**
   * `max_filedescriptors`: the descriptors each worker may open, two per tunnel. The Squid
   * service's `LimitNOFILE` must be at least this high.
   * @default - room for an NLB target's 55,000 connections spread over the workers, with 20% headroom
   */
  readonly maxFileDescriptors?: number;
  /**
   * Directory of `squid.conf`, the allowlist files and the endpoint-ID helper.
   * @default '/etc/squid'
   */
  readonly configDirectory?: string;
  /**
   * Directory of `access.log` and `cache.log`.
   * @default '/var/log/squid'
   */
  readonly logDirectory?: string;
  /**
   * Squid's PID file.
   * @default '/run/squid.pid'
   */
  readonly pidFile?: string;
  /**
   * The PEM file (certificate and key) of the `ssl-bump` port. Peek and splice never present it
   * to clients, but Squid requires one: generate a throw-away self-signed certificate.
   * @default - `<configDirectory>/egress-bump.pem`
   */
  readonly certificateFile?: string;
  /**
   * A hosts file Squid consults before DNS.
   * @default '/etc/hosts'
   */
  readonly hostsFile?: string;
  /**
   * DNS servers Squid queries: at least one, each an IPv4 or IPv6 address (tokens are written
   * as they are).
   * @default - the servers in /etc/resolv.conf
   */
  readonly dnsNameservers?: string[];
  /**
   * How long Squid lets open connections finish when it stops. Align it with the load balancer's
   * deregistration delay so draining instances finish their tunnels.
   * @default Duration.seconds(30)
   */
  readonly shutdownLifetime?: Duration;
  /**
   * The provider VPC's own CIDR blocks (IPv4 and IPv6). Destinations in them are refused in every
   * mode (rule `to-provider-vpc`), even inside `allowedPrivateCidrs`: the VPC holds the proxy
   * fleet, its load balancer and the provider's own services. This matters most for a VPC whose
   * CIDR is not RFC 1918 space (private space is refused anyway). Literal CIDR blocks, or
   * CloudFormation tokens such as a VPC's `vpcCidrBlock` (written into `squid.conf` at deploy
   * time). `EgressPolicy.evaluate()` does not know these blocks.
   *
   * @default - no VPC-specific rule (private space is refused by the policy's `to-private` rule)
   */
  readonly providerVpcCidrs?: string[];
}

/**
 * One file of a rendered configuration.
 */
export interface SquidConfigFile {
  /** Absolute path. */
  readonly path: string;
  /** Contents. */
  readonly content: string;
  /** File mode, octal digits such as `'000644'`. */
  readonly mode: string;
}

/**
 * A rendered Squid configuration.
 */
export interface SquidConfiguration {
  /** Path of `squid.conf`. */
  readonly configFile: string;
  /** Every file to write: `squid.conf`, allowlists, and the endpoint-ID helper when used. */
  readonly files: SquidConfigFile[];
  /** Squid workers (one per vCPU). */
  readonly workers: number;
  /** `max_filedescriptors` per worker; the service's `LimitNOFILE` must be at least this. */
  readonly maxFileDescriptors: number;
  /** Path of the access log. */
  readonly accessLog: string;
  /** Path of the cache (diagnostic) log. */
  readonly cacheLog: string;
  /** Path of the ssl-bump certificate the host must provide. */
  readonly certificateFile: string;
}

/**
 * Connections one NLB target accepts (about 55,000 per target IP and port); each tunnel uses
 * two file descriptors (client and server side).
 */
const TARGET_CONNECTIONS = 55_000;

/**
 * Renders a hardened Squid 5 configuration from an {@link EgressPolicy}.
 *
 * The result denies by default, checks the TLS server name by peek and splice without
 * decrypting, never reaches localhost or link-local (instance metadata) addresses, and logs
 * every decision with the rule that made it.
 */
export class SquidConfig {
  /**
   * Render `squid.conf` and the files it references.
   */
  public static render(policy: EgressPolicy, options: SquidRenderOptions = {}): SquidConfiguration {
    return new SquidConfig(policy, options).build();
  }

  private readonly port: number;
  private readonly vcpus: number;
  private readonly dir: string;
  private readonly logDir: string;
  private readonly providerVpcCidrs?: string[];
  private readonly providerVpc?: CidrSet;
  private readonly listen: string;
  private readonly maxFds: number;
  private readonly certificateFile: string;
  private readonly accessLog: string;
  private readonly cacheLog: string;
  /** The files referenced by squid.conf, in the order the steps below write them. */
  private readonly files: SquidConfigFile[] = [];

  private constructor(
    private readonly policy: EgressPolicy,
    private readonly options: SquidRenderOptions,
  ) {
    this.port = options.port ?? 3128;
    if (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535) {
      throw new Error(`Invalid port ${this.port}: ports must be whole numbers from 1 to 65535`);
    }
    this.vcpus = options.vcpus ?? 1;
    if (!Number.isInteger(this.vcpus) || this.vcpus < 1 || this.vcpus > 192) {
      throw new Error(`Invalid vcpus ${this.vcpus}: expected a whole number from 1 to 192`);
    }
    this.dir = stripSlash(options.configDirectory ?? '/etc/squid');
    this.logDir = stripSlash(options.logDirectory ?? '/var/log/squid');
    for (const p of [this.dir, this.logDir, options.pidFile, options.certificateFile, options.hostsFile]) {
      if (p !== undefined && (!p.startsWith('/') || /[\s"]/.test(p))) {
        throw new Error(`Invalid path '${p}': render paths must be absolute and contain no whitespace or quotes`);
      }
    }
    this.listen = listenSpec(options.listenAddress, this.port);
    checkNameservers(options.dnsNameservers);
    const vpc = options.providerVpcCidrs;
    if (vpc !== undefined) {
      if (vpc.length === 0) throw new Error('Invalid providerVpcCidrs []: give the VPC CIDR blocks, or omit it');
      const literal = vpc.filter((c) => !Token.isUnresolved(c)).map((c) => parseCidr(c, 'providerVpcCidrs entry'));
      this.providerVpcCidrs = [...literal.map((c) => c.text), ...vpc.filter((c) => Token.isUnresolved(c))];
      this.providerVpc = new CidrSet(literal);
    }
    const ppv2 = options.proxyProtocolSources;
    if (ppv2 !== undefined && ppv2.length === 0) {
      throw new Error('Invalid proxyProtocolSources []: give the NLB subnets, or omit it to turn PROXY protocol off');
    }
    if (
      !ppv2 &&
      (policy.sourceCidrs.length > 0 || policy.allowedEndpointIds.length > 0 || policy.consumers.length > 0)
    ) {
      throw new Error(
        'The policy sets sourceCidrs, allowedEndpointIds or consumers, which are judged on the client identity that PROXY protocol v2 carries; ' +
          'enable PROXY protocol (proxyProtocolSources) or remove them',
      );
    }
    this.maxFds = options.maxFileDescriptors ?? Math.ceil((TARGET_CONNECTIONS * 2 * 1.2) / this.vcpus / 1024) * 1024;
    if (!Number.isInteger(this.maxFds) || this.maxFds < 256 || this.maxFds > 1_048_576) {
      throw new Error(`Invalid maxFileDescriptors ${this.maxFds}: expected a whole number from 256 to 1048576`);
    }
    this.certificateFile = options.certificateFile ?? `${this.dir}/egress-bump.pem`;
    this.accessLog = `${this.logDir}/access.log`;
    this.cacheLog = `${this.logDir}/cache.log`;
  }

  /** squid.conf, one step per section, after the files the sections reference. */
  private build(): SquidConfiguration {
    const chain = this.chain();
    const lines = [
      ...this.listeningPort(),
      ...this.acls(chain),
      ...this.accessRules(chain),
      ...this.tlsRules(chain),
      ...this.logging(),
      ...this.hardening(),
      ...this.capacity(),
    ];
    const configFile = `${this.dir}/squid.conf`;
    const files = [{ path: configFile, content: lines.join('\n') + '\n', mode: '000644' }, ...this.files];
    return {
      configFile,
      files,
      workers: this.vcpus,
      maxFileDescriptors: this.maxFds,
      accessLog: this.accessLog,
      cacheLog: this.cacheLog,
      certificateFile: this.certificateFile,
    };
  }

  /** Adds a file beside squid.conf and returns its path. */
  private file(name: string, lines: readonly string[], mode = '000644'): string {
    const path = `${this.dir}/${name}`;
    this.files.push({ path, content: lines.join('\n') + '\n', mode });
    return path;
  }

  /** The PROXY protocol identity (client address, endpoint ID) is known only with PROXY protocol. */
  private get identity(): boolean {
    return this.options.proxyProtocolSources !== undefined;
  }

  /** The decision chain's ACLs and rules, with the allowlist files they read. */
  private chain(): ChainLines {
    const p = this.policy;
    // Squid warns about an empty ACL file; an audit policy may have no domains yet, so an empty
    // list gets one reserved name that can never resolve (RFC 2606 '.invalid').
    const domainsFile = this.file(
      'egress-allowed-domains.txt',
      p.domains.length > 0 ? p.domains : ['egress-allowlist-is-empty.invalid'],
    );
    const apexFile =
      p.subdomainOnlyNames.length > 0 ? this.file('egress-subdomain-only-names.txt', p.subdomainOnlyNames) : undefined;
    return renderChain(p._chainPolicy(this.providerVpc), {
      allowedDomains: domainsFile,
      subdomainOnlyNames: apexFile,
      providerVpcCidrs: this.providerVpcCidrs,
      identity: this.identity,
    });
  }

  /** Header and `http_port`, with the PROXY protocol peers when it is on. */
  private listeningPort(): string[] {
    const p = this.policy;
    const ppv2 = this.options.proxyProtocolSources;
    const c = [
      '# Rendered by cdk-private-egress-proxy. Do not edit: change the EgressPolicy instead.',
      `# mode: ${p.mode}; ${p.domains.length} allowlist entries; ports: ${p.ports.length <= 8 ? p.ports.join(',') : `${p.ports.slice(0, 8).join(',')} and ${p.ports.length - 8} more`}; plain HTTP: ${p.allowPlainHttp ? 'on' : 'off'}`,
      '',
      '## Listening port: explicit proxy with TLS peek (no decryption).',
      `http_port ${this.listen} ssl-bump generate-host-certificates=off cert=${this.certificateFile}${ppv2 ? ' require-proxy-header' : ''}`,
    ];
    if (ppv2) {
      const srcs = ppv2.map((s) => parseCidr(s, 'PROXY protocol source').text);
      c.push(
        '# PROXY protocol v2 headers are trusted only from the load balancer.',
        ...valueLines('egress_ppv2_peers src', srcs, Infinity),
        'proxy_protocol_access allow egress_ppv2_peers',
        'proxy_protocol_access deny all',
      );
    }
    return c;
  }

  /** The chain's ACLs, the consumers' file, and the endpoint-identity helper when PROXY protocol is on. */
  private acls(chain: ChainLines): string[] {
    const c = ['', '## ACLs', ...chain.acls];
    if (chain.consumerAcls.length > 0) {
      const consumers = this.file('egress-consumers.conf', chain.consumerAcls);
      c.push(
        `# The consumers (${this.policy.consumers.length}): who each one is, and its own destinations.`,
        `include ${consumers}`,
      );
    }
    if (this.identity) {
      const p = this.policy;
      const ids =
        p.allowedEndpointIds.length > 0 ? this.file('egress-endpoint-ids.txt', p.allowedEndpointIds) : undefined;
      const helper = this.file('egress-endpoint-acl', helperScript('egress-endpoint-acl.sh'), '000755');
      c.push(
        '# The VPC endpoint ID arrives in PROXY protocol v2 TLV 0xEA (234) as %01vpce-...; a helper reads it, adds it',
        '# to the transaction as the note endpoint=vpce-... (logged), and answers OK when it may use the proxy.',
        `external_acl_type egress_identity ttl=300 negative_ttl=300 children-startup=1 children-max=4 %proxy_protocol::>h{234} ${helper}${ids ? ` ${ids}` : ''}`,
        'acl egress_endpoint external egress_identity',
      );
    }
    return c;
  }

  /** `http_access` from the chain, and the rewriter that turns a refused CONNECT into a plain 403. */
  private accessRules(chain: ChainLines): string[] {
    const rewriter = this.file('egress-refuse-rewriter', helperScript('egress-refuse-rewriter.sh'), '000755');
    return [
      '',
      '## Access rules, rendered from the decision chain: first match wins; anything not allowed explicitly is denied.',
      '# In audit mode a policy rule only marks the request (egress_pending) and the chain goes on: guardrails still deny.',
      '# A CONNECT that http_access denies is bumped by Squid to show the error inside TLS (clients then',
      '# report a certificate error). So a CONNECT the policy refuses is marked here instead, sent to a',
      '# rewriter that redirects it (redirected CONNECTs are never bumped), and its reply is replaced by',
      '# a plain "403 Forbidden" naming the rule (http_reply_access). ssl_bump terminates any marked',
      '# CONNECT that still arrives at TLS, so the policy fails closed if the rewriter is unavailable.',
      ...chain.httpAccess,
      `url_rewrite_program ${rewriter}`,
      'url_rewrite_children 4 startup=1 idle=1',
      '# The rewriter reads nothing but the line break: no extras (the default sends %>A, a reverse DNS lookup of the client).',
      'url_rewrite_extras "-"',
      'url_rewrite_access allow egress_refused',
      'url_rewrite_access deny all',
      'http_reply_access deny egress_refused',
      'http_reply_access allow all',
      'reply_header_add X-Egress-Denied-By "%{egress_rule}note" egress_refused',
    ];
  }

  /** `ssl_bump` (peek, then splice or terminate) and the answer to bytes that are not TLS. */
  private tlsRules(chain: ChainLines): string[] {
    return [
      '',
      '## TLS: peek at the client hello, splice (never decrypt) allowlisted server names, terminate the rest.',
      ...chain.sslBump,
      '# Bytes in a tunnel that are not TLS get an error and never reach the destination.',
      ...chain.onUnsupportedProtocol,
    ];
  }

  /** Log formats and the access log: one line per request or tunnel. */
  private logging(): string[] {
    const format = (method: string, status: string) =>
      `%{%Y-%m-%dT%H:%M:%S}tg.%03tuZ client=%>a endpoint=%{endpoint}note consumer=%{egress_consumer}note method=${method} dest=%>rd:%>rP sni=%ssl::>sni ` +
      `status=${status} rule=%{egress_rule}note audit=%{egress_audit}note bytes_out=%>st bytes_in=%<st duration_ms=%tr`;
    return [
      '',
      '## Logs: one line per request or tunnel: client (from PROXY protocol), endpoint ID, consumers, destination, SNI, result,',
      '## the rule that decided, the audit mark, bytes and duration.',
      `logformat egress ${format('%rm', '%Ss/%03>Hs')}`,
      '# A tunnel is logged once, under the request Squid makes for it after the TLS peek (the CONNECT itself,',
      '# answered 200 before the peek, is not logged). Its status is the 200 the client got: Squid 5 records',
      '# 500 for a healthy tunnel whose server closed first.',
      `logformat egress_tunnel ${format('CONNECT', '%Ss/200')}`,
      '# Connections that end before a request (NLB health checks with a PROXY LOCAL header) are not logged.',
      'acl egress_has_request has request',
      `access_log stdio:${this.accessLog} egress_tunnel egress_has_request egress_tunnel !egress_handed_off`,
      `access_log stdio:${this.accessLog} egress egress_has_request !egress_tunnel`,
      `cache_log ${this.cacheLog}`,
      'logfile_rotate 0',
    ];
  }

  /** No cache, no identifying headers, no per-client statistics, and where Squid keeps its files. */
  private hardening(): string[] {
    const o = this.options;
    return [
      '',
      '## Hardening',
      'cache deny all',
      'cache_mem 8 MB',
      'via off',
      'pinger_enable off',
      'reply_header_access X-Cache deny all',
      'reply_header_access X-Cache-Lookup deny all',
      'forwarded_for delete',
      'httpd_suppress_version_string on',
      'visible_hostname egress-proxy',
      '# No per-client statistics: they cost a reverse DNS lookup of every new client address.',
      'client_db off',
      `shutdown_lifetime ${Math.round((o.shutdownLifetime ?? Duration.seconds(30)).toSeconds())} seconds`,
      `pid_filename ${o.pidFile ?? '/run/squid.pid'}`,
      `coredump_dir ${this.logDir}`,
    ];
  }

  /** Workers, descriptors, and where names are resolved. */
  private capacity(): string[] {
    const o = this.options;
    const c = [
      '',
      o.maxFileDescriptors === undefined
        ? "## Capacity: one worker per vCPU; two file descriptors per tunnel, 20% headroom over an NLB target's 55,000 connections."
        : '## Capacity: one worker per vCPU; two file descriptors per tunnel, sized by the host.',
      `workers ${this.vcpus}`,
      `max_filedescriptors ${this.maxFds}`,
    ];
    if (o.hostsFile) c.push(`hosts_file ${o.hostsFile}`);
    if (o.dnsNameservers) c.push(`dns_nameservers ${o.dnsNameservers.join(' ')}`);
    return c;
  }
}

/** Squid's `http_port` address: `port`, `a.b.c.d:port` or `[v6]:port`. */
function listenSpec(address: string | undefined, port: number): string {
  if (address === undefined) return `${port}`;
  if (Token.isUnresolved(address)) return `${address}:${port}`;
  const family = isIP(address);
  if (family === 0) {
    throw new Error(
      `Invalid listenAddress '${address}': expected one IPv4 or IPv6 address such as '10.0.0.5' or 'fd00::5' ` +
        '(no brackets, port or host name; omit listenAddress to listen on all addresses)',
    );
  }
  return family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** `dnsNameservers`: at least one entry, each an IPv4 or IPv6 address (a token is written as it is). */
function checkNameservers(servers: string[] | undefined): void {
  if (servers === undefined) return;
  if (servers.length === 0) {
    throw new Error('Invalid dnsNameservers []: give at least one DNS server address, or omit dnsNameservers');
  }
  for (const s of servers) {
    if (!Token.isUnresolved(s) && isIP(s) === 0) {
      throw new Error(
        `Invalid dnsNameservers entry '${s}': expected an IPv4 or IPv6 address such as '10.0.0.2' (Squid's dns_nameservers takes addresses only)`,
      );
    }
  }
}

function stripSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/**
 * The two Squid helpers, shell scripts shipped in assets/host/ (shellcheck-clean in CI).
 * `egress-refuse-rewriter.sh` redirects every request it is given; squid.conf sends it only
 * CONNECTs the policy refused, so Squid answers them with a plain 403 instead of bumping them.
 * `egress-endpoint-acl.sh` reads the URL-encoded TLV 0xEA value Squid sends (`%01vpce-…`, the
 * subtype byte then the ID, or `-` without one), returns the bare ID as the note `endpoint` and
 * answers OK when the ID is on the list given as $1 (any ID when there is no list).
 */
function helperScript(name: 'egress-refuse-rewriter.sh' | 'egress-endpoint-acl.sh'): string[] {
  return hostFile(name).replace(/\n$/, '').split('\n');
}
