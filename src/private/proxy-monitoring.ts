import { Duration, Names } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeTemplateChecks } from './nag';

/** The access-log metrics: name and the CloudWatch Logs filter pattern that counts them. */
export interface LogMetric {
  readonly id: string;
  readonly metricName: string;
  readonly filterPattern: string;
  /** Report 0 for periods with log events but no match. */
  readonly zeroWhenAbsent: boolean;
}

/** What {@link createLogs} needs. */
export interface LogsOptions {
  readonly retention?: logs.RetentionDays;
  readonly metricNamespace?: string;
  readonly metrics: LogMetric[];
}

/** The proxy's log group and the namespace of the metrics its filters count. */
export interface ProxyLogs {
  readonly logGroup: logs.LogGroup;
  readonly metricNamespace: string;
}

/**
 * The log group the CloudWatch agent ships Squid's logs to, and a metric filter per access-log
 * metric.
 */
export function createLogs(scope: Construct, options: LogsOptions): ProxyLogs {
  const logGroup = new logs.LogGroup(scope, 'LogGroup', {
    retention: options.retention ?? logs.RetentionDays.THREE_MONTHS,
  });
  acknowledgeTemplateChecks(logGroup, [
    {
      id: 'CKV_AWS_158',
      reason:
        'CloudWatch Logs encrypts every log group at rest with its own keys; the access log needs no customer managed KMS key.',
    },
  ]);
  const metricNamespace = options.metricNamespace ?? `EgressProxy/${Names.uniqueId(scope)}`;
  for (const m of options.metrics) {
    new logs.MetricFilter(scope, m.id, {
      logGroup,
      filterPattern: logs.FilterPattern.literal(m.filterPattern),
      metricNamespace,
      metricName: m.metricName,
      metricValue: '1',
      defaultValue: m.zeroWhenAbsent ? 0 : undefined,
      unit: cloudwatch.Unit.COUNT,
    });
  }
  return { logGroup, metricNamespace };
}

/** The metrics the alarms watch. */
export interface AlarmMetrics {
  readonly unhealthyHosts: cloudwatch.IMetric;
  readonly deniedRequests: cloudwatch.IMetric;
  readonly reloadFailures: cloudwatch.IMetric;
}

/** The alarms of the provider. */
export interface ProxyAlarms {
  readonly unhealthyHosts: cloudwatch.Alarm;
  readonly deniedRequests: cloudwatch.Alarm;
  readonly reloadFailures: cloudwatch.Alarm;
}

/**
 * Alarms on unhealthy instances (three minutes in a row), a spike of denied requests (over the
 * threshold in five minutes) and a rejected configuration reload; each notifies `action`.
 */
export function createAlarms(
  scope: Construct,
  metrics: AlarmMetrics,
  action: cloudwatch.IAlarmAction,
  deniedThreshold: number,
): ProxyAlarms {
  const alarm = (id: string, metric: cloudwatch.IMetric, props: Omit<cloudwatch.AlarmProps, 'metric'>) => {
    const a = new cloudwatch.Alarm(scope, id, {
      metric,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
    });
    a.addAlarmAction(action);
    return a;
  };
  return {
    unhealthyHosts: alarm('UnhealthyHostsAlarm', withPeriod(metrics.unhealthyHosts, Duration.minutes(1)), {
      alarmDescription: 'Egress proxy instances fail the load balancer health check',
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
    }),
    deniedRequests: alarm('DeniedRequestsAlarm', withPeriod(metrics.deniedRequests, Duration.minutes(5)), {
      alarmDescription: `More than ${deniedThreshold} requests denied by the egress policy in five minutes`,
      threshold: deniedThreshold,
      evaluationPeriods: 1,
    }),
    reloadFailures: alarm('ReloadFailuresAlarm', withPeriod(metrics.reloadFailures, Duration.minutes(5)), {
      alarmDescription: 'An egress proxy instance rejected a new configuration (squid -k parse) and kept the old one',
      threshold: 1,
      evaluationPeriods: 1,
    }),
  };
}

function withPeriod(metric: cloudwatch.IMetric, period: Duration): cloudwatch.IMetric {
  return metric instanceof cloudwatch.Metric ? metric.with({ period }) : metric;
}
