import { Duration, Names } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { EgressProxyProvider } from '../egress-proxy-provider';

/**
 * The provider's optional CloudWatch dashboard (the `dashboard` prop): what an on-call engineer
 * looks at first, top to bottom: requests and refusals, who sends them, tunnels and bytes through
 * the load balancer, healthy instances per zone, the instances' CPU and network, and rejected
 * reloads; plus saved Logs Insights queries over the access log.
 */

/**
 * Logs Insights: the fields of one access-log line (the `egress` log format of `SquidConfig`),
 * by name. Lines of the other streams in the group (cache log, cfn-init) do not match and are
 * dropped by `filter ispresent(rule)`.
 */
export const ACCESS_LOG_PARSE =
  'parse @message /^(?<time>\\S+) client=(?<client>\\S+) endpoint=(?<endpoint>\\S+) consumer=(?<consumer>\\S+) method=(?<method>\\S+) dest=(?<dest>\\S+) ' +
  'sni=(?<sni>\\S+) status=(?<status>\\S+) rule=(?<rule>\\S+) audit=(?<audit>\\S+) bytes_out=(?<bytes_out>\\S+) ' +
  'bytes_in=(?<bytes_in>\\S+) duration_ms=(?<duration_ms>\\S+)$/';

const ACCESS_LINES = [ACCESS_LOG_PARSE, 'filter ispresent(rule)'];
/** A request the policy refused (audit mode marks those it let through with audit=would-deny). */
const REFUSED = 'filter rule != "allowlisted" and rule != "-"';

/** A Logs Insights query over the access log: title, lines (joined with ` | `) and how to show it. */
export interface AccessLogQuery {
  readonly title: string;
  readonly lines: string[];
}

/** The dashboard's Logs Insights widgets. */
export const DASHBOARD_QUERIES = {
  requestsPerMinute: {
    title: 'Requests per minute (access log)',
    lines: [...ACCESS_LINES, 'stats count(*) as requests by bin(1m)'],
  },
  requestsByRule: {
    title: 'Requests by rule (access log)',
    lines: [...ACCESS_LINES, 'stats count(*) as requests by rule', 'sort requests desc'],
  },
  topConsumers: {
    title: 'Top consumers by name and VPC endpoint ID (access log)',
    lines: [
      ...ACCESS_LINES,
      'stats count(*) as requests, count_distinct(client) as clients, count_distinct(dest) as destinations, sum(bytes_out) as bytes_out, sum(bytes_in) as bytes_in by consumer, endpoint',
      'sort requests desc',
      'limit 20',
    ],
  },
} satisfies Record<string, AccessLogQuery>;

/** The saved Logs Insights queries (AWS::Logs::QueryDefinition), by the name suffix they are saved under. */
export const SAVED_QUERIES = {
  topDeniedDomains: {
    title: 'Top denied destinations',
    lines: [
      ...ACCESS_LINES,
      REFUSED,
      'stats count(*) as requests by dest, rule, audit',
      'sort requests desc',
      'limit 50',
    ],
  },
  denialsPerConsumer: {
    title: 'Denials per consumer',
    lines: [
      ...ACCESS_LINES,
      REFUSED,
      'stats count(*) as refused, count_distinct(dest) as destinations by consumer, endpoint, client',
      'sort refused desc',
      'limit 100',
    ],
  },
  trafficPerConsumer: {
    title: 'Traffic per consumer',
    lines: [
      ...ACCESS_LINES,
      'stats count(*) as requests, sum(bytes_out) as bytes_out, sum(bytes_in) as bytes_in, count_distinct(dest) as destinations by consumer, endpoint, client',
      'sort requests desc',
      'limit 100',
    ],
  },
} satisfies Record<string, AccessLogQuery>;

/** The dashboard and the saved queries of a provider. */
export function createDashboard(provider: EgressProxyProvider): cloudwatch.Dashboard {
  const minute = Duration.minutes(1);
  const logGroupNames = [provider.logGroup.logGroupName];
  const query = (q: AccessLogQuery, view: cloudwatch.LogQueryVisualizationType, width: number) =>
    new cloudwatch.LogQueryWidget({ title: q.title, logGroupNames, queryLines: q.lines, view, width, height: 6 });
  const graph = (title: string, left: cloudwatch.IMetric[], width = 8) =>
    new cloudwatch.GraphWidget({ title, left, width, height: 6, period: minute, liveData: true });

  const lb = provider.loadBalancer;
  const tg = provider.targetGroup;
  const asg = provider.autoScalingGroup.autoScalingGroupName;
  const fleetMetric = (metricName: string, statistic: string, label: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/EC2',
      metricName,
      dimensionsMap: { AutoScalingGroupName: asg },
      statistic,
      period: minute,
      label,
    });
  const perZone = provider.availabilityZones.map(
    (zone) =>
      new cloudwatch.Metric({
        namespace: 'AWS/NetworkELB',
        metricName: 'HealthyHostCount',
        dimensionsMap: {
          LoadBalancer: lb.loadBalancerFullName,
          TargetGroup: tg.targetGroupFullName,
          AvailabilityZone: zone,
        },
        statistic: cloudwatch.Stats.MINIMUM,
        period: minute,
        label: `healthy in ${zone}`,
      }),
  );
  const alarms = [provider.unhealthyHostsAlarm, provider.deniedRequestsAlarm, provider.reloadFailuresAlarm].filter(
    (a): a is cloudwatch.IAlarm => a !== undefined,
  );

  const dashboard = new cloudwatch.Dashboard(provider, 'Dashboard', {
    defaultInterval: Duration.hours(3),
    widgets: [
      [
        query(DASHBOARD_QUERIES.requestsPerMinute, cloudwatch.LogQueryVisualizationType.LINE, 8),
        graph('Denied and audited requests per minute', [
          provider.metricDeniedRequests({ period: minute, label: 'denied' }),
          provider.metricAuditedRequests({ period: minute, label: 'audit mode: would deny' }),
        ]),
        query(DASHBOARD_QUERIES.requestsByRule, cloudwatch.LogQueryVisualizationType.BAR, 8),
      ],
      [
        graph('Tunnels (load balancer)', [
          provider.metricActiveConnections({ period: minute, label: 'active', statistic: cloudwatch.Stats.MAXIMUM }),
          lb.metrics.newFlowCount({ period: minute, label: 'new per minute' }),
          lb.metrics.tcpClientResetCount({ period: minute, label: 'client resets per minute' }),
        ]),
        graph('Bytes per minute (load balancer)', [lb.metrics.processedBytes({ period: minute, label: 'processed' })]),
        graph('Healthy instances per Availability Zone', [
          ...perZone,
          provider.metricUnhealthyHosts({ period: minute, label: 'unhealthy (all zones)' }),
        ]),
      ],
      [
        graph('CPU per instance, % (average, hottest)', [
          fleetMetric('CPUUtilization', cloudwatch.Stats.AVERAGE, 'average instance'),
          fleetMetric('CPUUtilization', cloudwatch.Stats.MAXIMUM, 'hottest instance'),
        ]),
        graph('Network per instance, bytes (average, busiest)', [
          fleetMetric('NetworkIn', cloudwatch.Stats.AVERAGE, 'in, average instance'),
          fleetMetric('NetworkOut', cloudwatch.Stats.AVERAGE, 'out, average instance'),
          fleetMetric('NetworkIn', cloudwatch.Stats.MAXIMUM, 'in, busiest instance'),
          fleetMetric('NetworkOut', cloudwatch.Stats.MAXIMUM, 'out, busiest instance'),
        ]),
        graph('Rejected configuration reloads', [
          provider.metricReloadFailures({ period: minute, label: 'rejected (squid -k parse)' }),
        ]),
      ],
      [query(DASHBOARD_QUERIES.topConsumers, cloudwatch.LogQueryVisualizationType.TABLE, 24)],
      ...(alarms.length > 0
        ? [[new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: 3 })]]
        : []),
    ],
  });

  const folder = `EgressProxy/${Names.uniqueId(provider)}`;
  for (const [id, q] of Object.entries(SAVED_QUERIES)) {
    new logs.CfnQueryDefinition(provider, `Query${id[0].toUpperCase()}${id.slice(1)}`, {
      name: `${folder}/${q.title}`,
      logGroupNames,
      queryString: q.lines.join('\n| '),
    });
  }
  return dashboard;
}
