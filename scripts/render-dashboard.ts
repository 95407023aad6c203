/**
 * Draws the provider's CloudWatch dashboard (`dashboard: true`) as an SVG from the dashboard body
 * the construct synthesises: the widget grid with each widget's position, size, title and what
 * it shows (its metrics, or its Logs Insights query). No data is drawn: this is the layout, not a
 * console screenshot.
 *
 *   npx ts-node --project tsconfig.dev.json scripts/render-dashboard.ts           writes docs/dashboard.svg
 *   npx ts-node --project tsconfig.dev.json scripts/render-dashboard.ts --check   fails when it is out of date
 *
 * test/proxy-dashboard.test.ts renders it again and compares it with the committed file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EgressPolicy, EgressProxyProvider } from '../src';

export const SVG_FILE = join(__dirname, '..', 'docs', 'dashboard.svg');

/** One widget of a dashboard body (the parts drawn and checked). */
export interface DashboardWidget {
  readonly type: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: Record<string, any>;
}

/**
 * The dashboard body of a template's one AWS::CloudWatch::Dashboard, parsed: each token of its
 * Fn::Join becomes `${LogicalId}` (a Ref) or `${LogicalId.Attribute}` (a Fn::GetAtt).
 */
export function dashboardBody(template: Record<string, any>): { widgets: DashboardWidget[]; [k: string]: any } {
  const dashboards = Object.values<any>(template.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
  if (dashboards.length !== 1) throw new Error(`expected one dashboard, found ${dashboards.length}`);
  const body = dashboards[0].Properties.DashboardBody;
  return JSON.parse(resolveJoin(body));
}

/** A Fn::Join of strings and references, as text with `${…}` placeholders. */
export function resolveJoin(value: any): string {
  if (typeof value === 'string') return value;
  if (value?.['Fn::Join']) {
    const [sep, parts] = value['Fn::Join'];
    return parts.map(resolveJoin).join(sep);
  }
  if (value?.Ref) return `\${${value.Ref}}`;
  if (value?.['Fn::GetAtt']) return `\${${value['Fn::GetAtt'].join('.')}}`;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return value.map(resolveJoin).join(',');
  const fns = typeof value === 'object' && value !== null ? Object.keys(value) : [];
  if (fns.length === 1 && fns[0].startsWith('Fn::')) return `\${${fns[0]}(${resolveJoin(value[fns[0]])})}`;
  throw new Error(`unexpected value in the dashboard body: ${JSON.stringify(value)}`);
}

/** The stack the picture is drawn from: two zones in eu-west-1, alarms on. */
export function exampleTemplate(): Record<string, any> {
  const app = new App({
    context: { 'availability-zones:account=123456789012:region=eu-west-1': ['eu-west-1a', 'eu-west-1b'] },
  });
  const stack = new Stack(app, 'EgressHub', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  new EgressProxyProvider(stack, 'EgressProxy', {
    vpc,
    policy: new EgressPolicy({ allowedDomains: ['sts.eu-west-1.amazonaws.com'] }),
    alarmAction: new actions.SnsAction(new sns.Topic(stack, 'OnCall')),
    dashboard: true,
  });
  return Template.fromStack(stack).toJSON();
}

const UNIT_W = 44;
const UNIT_H = 36;
const MARGIN = 16;
const HEADER = 44;

/** The SVG of a dashboard body. */
export function renderSvg(body: { widgets: DashboardWidget[] }): string {
  const rows = Math.max(...body.widgets.map((w) => w.y + w.height));
  const width = 24 * UNIT_W + 2 * MARGIN;
  const height = rows * UNIT_H + HEADER + 2 * MARGIN;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#f2f3f3"/>`,
    `<text x="${MARGIN}" y="${MARGIN + 16}" font-size="18" font-weight="bold" fill="#16191f">EgressProxyProvider dashboard (dashboard: true)</text>`,
    `<text x="${MARGIN}" y="${MARGIN + 34}" font-size="11" fill="#545b64">Layout drawn from the synthesised DashboardBody by scripts/render-dashboard.ts: widget positions, titles, metrics and queries; no data.</text>`,
  ];
  for (const w of body.widgets) {
    const x = MARGIN + w.x * UNIT_W + 3;
    const y = MARGIN + HEADER + w.y * UNIT_H + 3;
    const wpx = w.width * UNIT_W - 6;
    const hpx = w.height * UNIT_H - 6;
    const maxChars = Math.floor((wpx - 20) / 6);
    out.push(`<g>`, `<rect x="${x}" y="${y}" width="${wpx}" height="${hpx}" rx="4" fill="#ffffff" stroke="#d5dbdb"/>`);
    out.push(text(x + 10, y + 20, 13, 'bold', '#16191f', clip(w.properties.title ?? '', maxChars - 2)));
    const lines = describe(w);
    const room = Math.floor((hpx - 34) / 15);
    lines
      .slice(0, room)
      .forEach((l, i) => out.push(text(x + 10, y + 40 + i * 15, 11, 'normal', l.color, clip(l.text, maxChars))));
    out.push('</g>');
  }
  out.push('</svg>', '');
  return out.join('\n');
}

interface Line {
  readonly text: string;
  readonly color: string;
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

/** What a widget shows, one line each. */
function describe(w: DashboardWidget): Line[] {
  const p = w.properties;
  if (w.type === 'alarm') {
    return [
      { text: 'alarm status:', color: '#545b64' },
      ...p.alarms.map((a: string) => ({ text: `● ${shortRef(a)}`, color: '#1d8102' })),
    ];
  }
  if (w.type === 'metric') {
    return (p.metrics as any[][]).map((m, i) => {
      const opts = typeof m[m.length - 1] === 'object' ? m[m.length - 1] : {};
      const [namespace, name] = m;
      const ns = namespace.startsWith('EgressProxy/') ? 'access log' : namespace;
      return {
        text: `■ ${opts.label ?? name}: ${name} ${opts.stat ?? p.stat ?? 'Average'} (${ns})`,
        color: PALETTE[i % PALETTE.length],
      };
    });
  }
  if (w.type === 'log') {
    const parts = String(p.query).split('\n| ').slice(1);
    const shown = parts.filter((l) => !l.startsWith('parse ') && !l.startsWith('filter ispresent'));
    return [
      { text: `Logs Insights (${p.view}) over the access log:`, color: '#545b64' },
      ...shown.map((l) => ({ text: `| ${l}`, color: '#0073bb' })),
    ];
  }
  return [{ text: w.type, color: '#545b64' }];
}

function shortRef(arn: string): string {
  return /\$\{(\w+?)[0-9A-F]{8}\.Arn\}/.exec(arn)?.[1]?.replace(/^EgressProxy/, '') ?? arn;
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, Math.max(0, n - 1))}…` : s;
}

function text(x: number, y: number, size: number, weight: string, fill: string, s: string): string {
  const esc = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return `<text x="${x}" y="${y}" font-size="${size}" font-weight="${weight}" fill="${fill}" xml:space="preserve">${esc}</text>`;
}

if (require.main === module) {
  const svg = renderSvg(dashboardBody(exampleTemplate()));
  if (process.argv.includes('--check')) {
    if (readFileSync(SVG_FILE, 'utf8') !== svg) {
      process.stderr.write(`${SVG_FILE} is out of date: run scripts/render-dashboard.ts and commit it\n`);
      process.exit(1);
    }
    process.stdout.write(`${SVG_FILE} is up to date\n`);
  } else {
    writeFileSync(SVG_FILE, svg);
    process.stdout.write(`wrote ${SVG_FILE}\n`);
  }
}
