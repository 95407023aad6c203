import { ConfigTweak, LabContext, RunningTarget, startRendered, startSeed } from './proxies';

export interface Variant {
  readonly name: string;
  readonly why: string;
  readonly tweak?: ConfigTweak;
  /** A variant of the seed config instead of the rendered one. */
  readonly seed?: true;
}

/** Squid directives tried on the rendered config (see "What we tried" in the report). */
export const VARIANTS: Variant[] = [
  { name: 'as rendered', why: 'baseline for this table (same run, same moment)' },
  {
    name: 'seed article config',
    why: 'the seed config, measured beside the variants: the "× seed" columns divide by its CPU per tunnel',
    seed: true,
  },
  {
    name: 'seed config + SNI peek',
    why: 'the seed config with the same peek-and-splice step as the rendered config (`ssl_bump peek` at step 1, then `splice all`) and none of its rules: what the SNI check alone costs',
    seed: true,
    tweak: {
      replace: [[/^http_port (\d+)$/m, 'http_port $1 ssl-bump generate-host-certificates=off cert={{BUMP_FILE}}']],
      append: ['acl step1 at_step SslBump1', 'ssl_bump peek step1', 'ssl_bump splice all'],
    },
  },
  {
    name: 'chain again on the tunnel request',
    why: "undoes `http_access allow egress_tunnel`: Squid's own follow-up request for a spliced tunnel walks the whole chain again",
    tweak: { replace: [[/^http_access allow egress_tunnel.*$/m, '']] },
  },
  {
    name: 'two log lines per tunnel',
    why: 'undoes the one-line-per-tunnel logging: the CONNECT (answered before the peek) is logged too',
    tweak: {
      replace: [
        [/^access_log \S+ egress_tunnel .*$/m, ''],
        [/^access_log (\S+) egress egress_has_request !egress_tunnel$/m, 'access_log $1 egress egress_has_request'],
      ],
    },
  },
  {
    name: 'client_db on',
    why: "undoes `client_db off`: Squid keeps per-client statistics and resolves each new client's address (PTR)",
    tweak: { replace: [[/^client_db off$/m, 'client_db on']] },
  },
  {
    name: 'tunnel follow-up before the manager check',
    why: "the follow-up request of an allowed tunnel is allowed before the `manager` ACL's URL regular expressions run (the follow-up can never be a manager request)",
    tweak: {
      replace: [[/^http_access deny manager\n(http_access allow egress_tunnel)$/m, '$1\nhttp_access deny manager']],
    },
  },
  {
    name: 'memory_pools_limit none',
    why: 'Squid keeps every freed object in its pools instead of returning those over 5 MB to malloc',
    tweak: { append: ['memory_pools_limit none'] },
  },
  {
    name: 'buffered_logs on',
    why: 'access-log lines are written in larger chunks instead of one write() each (lines then reach the file late)',
    tweak: { append: ['buffered_logs on'] },
  },
  {
    name: "Squid's native log format",
    why: "price of the custom log line: the access log in Squid's own `squid` format, as the seed config logs (loses the rule, SNI and endpoint; measurement only)",
    tweak: {
      replace: [
        [/^access_log \S+ egress_tunnel .*$/m, ''],
        [/^access_log (\S+) egress egress_has_request !egress_tunnel$/m, 'access_log $1 squid egress_has_request'],
      ],
    },
  },
  {
    name: 'access log off',
    why: 'upper bound of what any logging change can give (not a recommendation: the log is the audit trail)',
    tweak: {
      replace: [
        [/^access_log \S+ egress_tunnel .*$/m, ''],
        [/^access_log .*$/m, 'access_log none'],
      ],
    },
  },
  {
    name: 'no `cache deny all`',
    why: 'price of the cache rule: Squid checks `cache` for every request, although nothing a tunnel carries is cacheable and every plain-HTTP request is refused',
    tweak: { replace: [[/^cache deny all$/m, '']] },
  },
  {
    name: 'epoch timestamps in the log',
    why: "price of the ISO 8601 time in each log line (`%{...}tg`, a strftime call) against Squid's own seconds.milliseconds (`%ts.%03tu`)",
    tweak: { replace: [[/%\{%Y-%m-%dT%H:%M:%S\}tg\.%03tuZ/g, '%ts.%03tu']] },
  },
  {
    name: 'no refusal rewriter',
    why: 'price of the plain-403 machinery on allowed tunnels: url_rewrite_*, http_reply_access and reply_header_add removed (refused CONNECTs then get a TLS error; measurement only)',
    tweak: {
      replace: [
        [/^url_rewrite_.*$/gm, ''],
        [/^http_reply_access .*$/gm, ''],
        [/^reply_header_add .*$/gm, ''],
      ],
    },
  },
  {
    name: 'no SNI check (plain CONNECT)',
    why: 'price of the peek-and-splice SNI check: ssl-bump removed from http_port and ssl_bump rules dropped (insecure; measurement only)',
    tweak: {
      replace: [
        [/ ssl-bump generate-host-certificates=off cert=\S+/, ''],
        [/^ssl_bump .*$/gm, ''],
        [/^on_unsupported_protocol .*$/gm, ''],
      ],
    },
  },
];

/**
 * Start VARIANTS[i] (on a port of its own, so every variant can run at once; the untweaked seed config
 * keeps its 8080), optionally under a `launcher` command (see startRendered).
 */
export function startVariant(ctx: LabContext, i: number, launcher?: string[]): Promise<RunningTarget> {
  const v = VARIANTS[i];
  return v.seed
    ? startSeed(ctx, { tweak: v.tweak, port: v.tweak ? 8100 + i : undefined, launcher })
    : startRendered(ctx, { tweak: v.tweak, port: 3200 + i, launcher });
}
