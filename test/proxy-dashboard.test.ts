import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { sampleAccessLogLine, SAMPLE_FIELDS } from './access-log-sample';
import { dashboardBody, DashboardWidget, exampleTemplate, renderSvg, SVG_FILE } from '../scripts/render-dashboard';
import { EgressPolicy, EgressProxyProvider, EgressProxyProviderProps } from '../src';

/** The picture's stack: two zones in eu-west-1, alarms and dashboard on. */
const template = exampleTemplate();
const body = dashboardBody(template);
const resources: Record<string, any> = template.Resources;

function ofType(type: string): Array<[string, any]> {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

/** The logical IDs a placeholder text refers to (`${Id}` or `${Id.Attribute}`). */
function refs(text: string): string[] {
  return [...text.matchAll(/\$\{(\w+)(\.\w+)?\}/g)].map((m) => m[1]);
}

function widgets(type: string): DashboardWidget[] {
  return body.widgets.filter((w) => w.type === type);
}

function synth(props: Partial<EgressProxyProviderProps>): Template {
  const stack = new Stack(new App(), 'Stack');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  new EgressProxyProvider(stack, 'Proxy', {
    vpc,
    policy: new EgressPolicy({ allowedDomains: ['example.com'] }),
    ...props,
  });
  return Template.fromStack(stack);
}

describe('dashboard', () => {
  test('is off by default: no dashboard and no saved queries', () => {
    const t = synth({});
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    t.resourceCountIs('AWS::Logs::QueryDefinition', 0);
  });

  test('dashboard: true adds one dashboard and three saved queries over the log group', () => {
    expect(ofType('AWS::CloudWatch::Dashboard')).toHaveLength(1);
    const [logGroupId] = ofType('AWS::Logs::LogGroup').map(([id]) => id);
    const queries = ofType('AWS::Logs::QueryDefinition').map(([, r]) => r.Properties);
    expect(queries.map((q) => q.Name.split('/').pop()).sort()).toEqual([
      'Denials per consumer',
      'Top denied destinations',
      'Traffic per consumer',
    ]);
    for (const q of queries) expect(q.LogGroupNames).toEqual([{ Ref: logGroupId }]);
  });

  test('synthesises in an environment-agnostic stack too (zone names are tokens)', () => {
    const t = synth({ dashboard: true });
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  test('widgets fit the 24-column grid without overlapping', () => {
    const cells = new Set<string>();
    for (const w of body.widgets) {
      expect(w.x + w.width).toBeLessThanOrEqual(24);
      for (let x = w.x; x < w.x + w.width; x++) {
        for (let y = w.y; y < w.y + w.height; y++) {
          expect(cells.has(`${x},${y}`)).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  test("every graphed metric exists: a metric filter's namespace and name, or an AWS metric whose dimensions name this stack's resources", () => {
    const filters = ofType('AWS::Logs::MetricFilter').flatMap(([, r]) =>
      r.Properties.MetricTransformations.map((m: any) => `${m.MetricNamespace} ${m.MetricName}`),
    );
    const subnetZones = ofType('AWS::EC2::Subnet').map(([, r]) => r.Properties.AvailabilityZone);
    // Which resource types a dimension's value may point at.
    const dimensionTypes: Record<string, string[]> = {
      LoadBalancer: ['AWS::ElasticLoadBalancingV2::LoadBalancer', 'AWS::ElasticLoadBalancingV2::Listener'],
      TargetGroup: ['AWS::ElasticLoadBalancingV2::TargetGroup'],
      AutoScalingGroupName: ['AWS::AutoScaling::AutoScalingGroup'],
    };
    const seen = new Set<string>();
    const graphs = widgets('metric');
    expect(graphs.length).toBeGreaterThanOrEqual(7);
    for (const w of graphs) {
      expect(w.properties.metrics.length).toBeGreaterThan(0);
      for (const m of w.properties.metrics as any[][]) {
        const opts = typeof m[m.length - 1] === 'object' ? m[m.length - 1] : {};
        const [namespace, name, ...dims] = typeof m[m.length - 1] === 'object' ? m.slice(0, -1) : m;
        seen.add(name);
        expect(opts.period ?? w.properties.period).toBe(60);
        if (namespace.startsWith('EgressProxy/')) {
          expect(dims).toEqual([]);
          expect(filters).toContain(`${namespace} ${name}`);
          continue;
        }
        expect(['AWS/NetworkELB', 'AWS/EC2']).toContain(namespace);
        expect(dims.length).toBeGreaterThan(0);
        for (let i = 0; i < dims.length; i += 2) {
          const [dim, value] = [dims[i], String(dims[i + 1])];
          if (dim === 'AvailabilityZone') {
            expect(subnetZones).toContain(value);
            continue;
          }
          const ids = refs(value);
          expect(ids.length).toBeGreaterThan(0);
          for (const id of ids) expect(dimensionTypes[dim]).toContain(resources[id]?.Type);
        }
      }
    }
    // What the on-call engineer looks at first, by metric.
    for (const name of [
      'DeniedRequests',
      'AuditedRequests',
      'ActiveFlowCount',
      'ProcessedBytes',
      'HealthyHostCount',
      'CPUUtilization',
      'NetworkIn',
      'NetworkOut',
      'ReloadFailures',
    ]) {
      expect(seen).toContain(name);
    }
  });

  test('healthy hosts are graphed once per zone of the load balancer', () => {
    const healthy = widgets('metric')
      .flatMap((w) => w.properties.metrics as any[][])
      .filter((m) => m[1] === 'HealthyHostCount')
      .map((m) => m[m.indexOf('AvailabilityZone') + 1]);
    expect(healthy.sort()).toEqual(['eu-west-1a', 'eu-west-1b']);
  });

  test('the alarm status widget shows the three alarms of the stack', () => {
    const [alarmWidget] = widgets('alarm');
    const alarmIds = ofType('AWS::CloudWatch::Alarm').map(([id]) => id);
    expect(alarmIds).toHaveLength(3);
    expect(alarmWidget.properties.alarms.flatMap(refs).sort()).toEqual(alarmIds.sort());
  });

  describe('Logs Insights queries parse the access-log format', () => {
    const line = sampleAccessLogLine();
    const savedQueries = ofType('AWS::Logs::QueryDefinition').map(([, r]) => ({
      title: r.Properties.Name as string,
      query: r.Properties.QueryString as string,
    }));
    const widgetQueries = widgets('log').map((w) => ({
      title: w.properties.title as string,
      query: w.properties.query as string,
    }));

    test('the dashboard has the requests-per-minute, by-rule and top-consumers queries', () => {
      expect(widgetQueries.map((q) => q.title)).toEqual([
        'Requests per minute (access log)',
        'Requests by rule (access log)',
        'Top consumers by name and VPC endpoint ID (access log)',
      ]);
      const [logGroupId] = ofType('AWS::Logs::LogGroup').map(([id]) => id);
      for (const q of widgetQueries) expect(q.query.startsWith(`SOURCE '\${${logGroupId}}'`)).toBe(true);
    });

    test.each([...widgetQueries, ...savedQueries].map((q) => [q.title, q.query]))(
      '%s: its parse regex reads every field of a rendered log line, and it uses only those fields',
      (_title, query) => {
        const commands = query.replace(/^SOURCE '[^']*' \| /, '').split('\n| ');
        const parse = commands.find((c) => c.startsWith('parse @message /'));
        expect(parse).toBeDefined();
        const regex = new RegExp(parse!.slice('parse @message /'.length, parse!.lastIndexOf('/')));
        const groups = regex.exec(line)?.groups;
        expect(groups).toEqual(SAMPLE_FIELDS);
        // A cache-log line does not match: the query keeps access-log lines only.
        expect(regex.test('2026/12/02 08:04:15 kid1| Starting Squid Cache version 5.7')).toBe(false);
        const rest = commands.filter((c) => c !== parse).join(' ');
        const aliases = [...rest.matchAll(/ as (\w+)/g)].map((m) => m[1]);
        const identifiers = rest
          .replace(/"[^"]*"/g, '')
          .replace(
            /\b(stats|filter|sort|limit|by|as|and|or|not|desc|asc|count|sum|count_distinct|bin|ispresent)\b/g,
            '',
          )
          .match(/\b[a-z_]+\b/g);
        for (const id of identifiers ?? []) expect([...Object.keys(SAMPLE_FIELDS), ...aliases]).toContain(id);
      },
    );
  });

  test('docs/dashboard.svg is the rendering of the current dashboard body (scripts/render-dashboard.ts)', () => {
    const svg = renderSvg(body);
    for (const w of body.widgets) expect(svg).toContain(w.properties.title.replace(/&/g, '&amp;').slice(0, 20));
    expect(readFileSync(SVG_FILE, 'utf8')).toBe(svg);
  });
});
