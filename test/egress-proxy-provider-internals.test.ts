import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { CfnResource, Stack } from 'aws-cdk-lib';
import { HOST_FILES_DIR, hostFile, renderHostTemplate, scriptWithValues } from '../src/private/host-files';
import { instanceSizeOf, vcpusOfInstanceType } from '../src/private/instance-size';
import { acknowledgeNagFindings } from '../src/private/nag';
import { MEMORY_MODEL, NLB_TARGET_CONNECTIONS, sizeProxyInstance } from '../src/private/sizing';

describe('vCPUs from the instance type name', () => {
  test.each([
    ['c7gn.medium', 1],
    ['c6gn.large', 2],
    ['m7g.xlarge', 4],
    ['c7g.16xlarge', 64],
    ['t4g.nano', 2],
    ['t4g.small', 2],
    ['t3.large', 2],
    ['t4g.xlarge', 4],
    ['t2.micro', 1],
    ['t2.medium', 2],
    ['m7i-flex.large', 2],
  ])('%s has %d', (name, vcpus) => {
    expect(vcpusOfInstanceType(name)).toBe(vcpus);
  });

  test.each([
    ['c7g.metal', 64],
    ['c6i.metal', 128],
    ['c5n.metal', 72],
    ['c7i.metal-24xl', 96],
    ['m7i.metal-48xl', 192],
    ['g5.xlarge', 4],
  ])(
    '%s has %d (metal sizes from the family table or their name; families without memory from the size)',
    (name, vcpus) => {
      expect(vcpusOfInstanceType(name)).toBe(vcpus);
    },
  );

  test.each(['u-6tb1.112xlarge.extra', 'nonsense', '${Token[TOKEN.1]}', 'g5.metal', 't4g.4xlarge'])(
    '%s is not guessed',
    (name) => {
      expect(vcpusOfInstanceType(name)).toBeUndefined();
    },
  );
});

describe('memory from the instance type name', () => {
  test.each([
    ['c7gn.medium', 1, 2],
    ['c6gn.16xlarge', 64, 128],
    ['c5n.large', 2, 5.25],
    ['c4.large', 2, 3.75],
    ['m7g.large', 2, 8],
    ['m7i-flex.xlarge', 4, 16],
    ['r7g.medium', 1, 8],
    ['x2iedn.xlarge', 4, 128],
    ['z1d.metal', 48, 384],
    ['c7g.metal', 64, 128],
    ['t4g.nano', 2, 0.5],
    ['t4g.2xlarge', 8, 32],
    ['t2.micro', 1, 1],
    ['t3a.medium', 2, 4],
  ])('%s has %d vCPUs and %d GiB', (name, vcpus, gib) => {
    expect(instanceSizeOf(name)).toEqual({ vcpus, memoryMiB: gib * 1024 });
  });

  test.each(['g5.xlarge', 'p5.48xlarge', 'inf2.xlarge'])('%s is not in the table', (name) => {
    expect(instanceSizeOf(name)).toBeUndefined();
  });
});

describe('sizing by memory', () => {
  // The README's instance-type table, row by row: the numbers users read are the numbers the code derives.
  test.each([
    ['t4g.micro', 2, 1709, 3932, 4096],
    ['t4g.small', 2, 6268, 14417, 11264],
    ['c6gn.medium', 1, 6553, 15073, 21504],
    ['c7gn.medium', 1, 6553, 15073, 21504],
    ['c7gn.large', 2, 15386, 35389, 24576],
    ['c7gn.xlarge', 4, 33052, 55000, 26624],
    ['m7g.large', 2, 33622, 55000, 52224],
  ])(
    '%s with %d worker(s) holds %d active and %d idle tunnels, %d descriptors per worker (README table)',
    (instanceType, workers, active, idle, fds) => {
      const s = sizeProxyInstance({ instanceType, workers });
      // The table shows idle tunnels up to an NLB target's 55,000, as its caption says.
      expect([s.activeTunnels, Math.min(s.idleTunnels, NLB_TARGET_CONNECTIONS), s.maxFileDescriptors]).toEqual([
        active,
        idle,
        fds,
      ]);
    },
  );

  test('the cap is what fits once every tunnel carried data, after the reserve and the slack', () => {
    const m = MEMORY_MODEL;
    const usable = (4096 - m.reservedMiB - 2 * m.reservedMiBPerWorker) * 1024 * m.tunnelShare;
    const perTunnel = m.squidKiBPerActiveTunnel + m.kernelKiBPerTunnel + m.descriptorTableKiBPerTunnel;
    const s = sizeProxyInstance({ instanceType: 'c7gn.large', workers: 2 });
    expect(s.activeTunnels).toBe(Math.floor(usable / perTunnel));
    expect(s.maxConnections).toBe(s.activeTunnels);
    expect(s.idleTunnels).toBeGreaterThan(2 * s.activeTunnels);
  });

  test('each worker may open descriptors for one and a half times its share of the cap, two per tunnel', () => {
    const s = sizeProxyInstance({ instanceType: 'c7gn.xlarge', workers: 4 });
    expect(s.maxFileDescriptors).toBeGreaterThanOrEqual(((2 * s.maxConnections) / 4) * 1.5);
    expect(s.maxFileDescriptors % 1024).toBe(0);
  });

  test("no instance accepts more than an NLB target's connections", () => {
    expect(sizeProxyInstance({ instanceType: 'r7g.16xlarge', workers: 64 }).maxConnections).toBe(
      NLB_TARGET_CONNECTIONS,
    );
  });

  test('an unresolved instance type is sized as 2 GiB per worker, with a warning', () => {
    const s = sizeProxyInstance({ instanceType: '${Token[TOKEN.9]}', workers: 2 });
    expect(s.memoryKnown).toBe(false);
    expect(s.memoryMiB).toBe(4096);
    expect(s.warnings.map((w) => w.id)).toEqual(['instanceMemoryUnknown']);
  });
});

describe('host files', () => {
  test('a template gets every placeholder filled, or synthesis fails naming the missing one', () => {
    expect(renderHostTemplate('squid-service.conf', { limitNofile: 4096 })).toMatch(/^LimitNOFILE=4096$/m);
    expect(() => renderHostTemplate('squid-service.conf', {})).toThrow(
      /squid-service.conf needs a value for \{\{limitNofile\}\}/,
    );
    expect(() => renderHostTemplate('squid-service.conf', { limitNofile: 1, other: 2 })).toThrow(
      /squid-service.conf has no placeholder for other/,
    );
  });

  test('a script keeps its text; its values come as quoted assignments after the first line', () => {
    const script = scriptWithValues('user-data.sh', { EGRESS_PROXY_STACK: 'My-Stack' });
    const [first, second, ...rest] = script.split('\n');
    expect([first, second]).toEqual(['#!/bin/bash', "EGRESS_PROXY_STACK='My-Stack'"]);
    expect(rest.join('\n')).toBe(hostFile('user-data.sh').split('\n').slice(1).join('\n'));
    expect(() => scriptWithValues('user-data.sh', { X: "it's" })).toThrow(/single quote/);
  });

  test('every host file is used by the provider or its squid.conf and ships in the npm package', () => {
    const files = readdirSync(HOST_FILES_DIR).sort();
    const source = ['private/proxy-host.ts', 'squid-config.ts']
      .map((f) => readFileSync(`${__dirname}/../src/${f}`, 'utf8'))
      .join('\n');
    for (const f of files) expect({ file: f, used: source.includes(`'${f}'`) }).toEqual({ file: f, used: true });
    const pack = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' }),
    );
    const packed = pack[0].files.map((f: { path: string }) => f.path);
    expect(packed).toEqual(expect.arrayContaining(files.map((f) => `assets/host/${f}`)));
  });
});

describe('cdk-nag acknowledgements without cdk-nag', () => {
  test("are written in cdk-nag's metadata format and accumulate", () => {
    const stack = new Stack();
    const r = new CfnResource(stack, 'R', { type: 'AWS::SNS::Topic' });
    acknowledgeNagFindings(r, [{ id: 'AwsSolutions-SNS2', reason: 'Test topic holds no data at all.' }]);
    acknowledgeNagFindings(r, [
      { id: 'AwsSolutions-IAM5', reason: 'Test reason of some length.', appliesTo: ['Resource::*'] },
    ]);
    expect(r.getMetadata('cdk_nag')).toEqual({
      rules_to_suppress: [
        { reason: 'Test topic holds no data at all.', id: 'AwsSolutions-SNS2' },
        { reason: 'Test reason of some length.', id: 'AwsSolutions-IAM5', applies_to: ['Resource::*'] },
      ],
    });
  });

  test('refuse a short reason', () => {
    const r = new CfnResource(new Stack(), 'R', { type: 'AWS::SNS::Topic' });
    expect(() => acknowledgeNagFindings(r, [{ id: 'X', reason: 'short' }])).toThrow(/10 characters/);
  });
});
