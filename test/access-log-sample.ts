import { EgressPolicy, SquidConfig } from '../src';

/** The value each code of the access-log format takes in {@link sampleAccessLogLine}. */
export const SAMPLE_FIELDS = {
  time: '2026-12-02T08:04:15.476Z',
  client: '10.0.1.25',
  endpoint: 'vpce-0123456789abcdef0',
  consumer: 'team-a,vpn',
  method: 'CONNECT',
  dest: 'sts.us-east-1.amazonaws.com:443',
  sni: 'sts.us-east-1.amazonaws.com',
  status: 'TCP_TUNNEL/200',
  rule: 'destination-not-allowed',
  audit: 'would-deny',
  bytes_out: '1209',
  bytes_in: '2590',
  duration_ms: '9',
};

const CODES: Array<[string, string]> = [
  ['%{%Y-%m-%dT%H:%M:%S}tg.%03tuZ', SAMPLE_FIELDS.time],
  ['%>a', SAMPLE_FIELDS.client],
  ['%{endpoint}note', SAMPLE_FIELDS.endpoint],
  ['%{egress_consumer}note', SAMPLE_FIELDS.consumer],
  ['%rm', SAMPLE_FIELDS.method],
  ['%>rd:%>rP', SAMPLE_FIELDS.dest],
  ['%ssl::>sni', SAMPLE_FIELDS.sni],
  ['%Ss/%03>Hs', SAMPLE_FIELDS.status],
  ['%{egress_rule}note', SAMPLE_FIELDS.rule],
  ['%{egress_audit}note', SAMPLE_FIELDS.audit],
  ['%>st', SAMPLE_FIELDS.bytes_out],
  ['%<st', SAMPLE_FIELDS.bytes_in],
  ['%tr', SAMPLE_FIELDS.duration_ms],
];

/**
 * One access-log line as Squid would write it: the `logformat egress` line of a rendered
 * squid.conf with each format code replaced by a sample value. Throws when the format holds a
 * code this table does not know, so a change to the log format fails the tests that read it.
 */
export function sampleAccessLogLine(): string {
  const conf = SquidConfig.render(new EgressPolicy({ allowedDomains: ['example.com'] }));
  const main = conf.files.find((f) => f.path === conf.configFile) ?? conf.files[0];
  const format = main.content.split('\n').find((l) => l.startsWith('logformat egress '));
  if (!format) throw new Error('no `logformat egress` line in the rendered squid.conf');
  let line = format.slice('logformat egress '.length);
  for (const [code, value] of CODES) line = line.split(code).join(value);
  if (line.includes('%')) throw new Error(`the log format has a code the sample does not know: ${line}`);
  return line;
}
