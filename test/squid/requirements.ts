import { existsSync } from 'node:fs';

/** What the real-program tests need, and the one line that installs it. */
const TOOLS: Array<[string, string]> = [
  ['/usr/sbin/squid', 'squid-openssl'],
  ['/usr/bin/aws', 'awscli'],
  ['/usr/bin/openssl', 'openssl'],
  ['/usr/sbin/ip', 'iproute2'],
];

/**
 * `describe` for tests that run real Squid in network namespaces. They need root (for the
 * namespaces) and the Debian packages above. Under CI=true a missing requirement fails the
 * suite; elsewhere the suite is skipped with one clear message.
 */
export function describeWithRealSquid(name: string, fn: () => void): void {
  const missing = TOOLS.filter(([path]) => !existsSync(path)).map(([, pkg]) => pkg);
  const problems: string[] = [];
  if (missing.length > 0) {
    problems.push(
      `missing ${missing.join(', ')}: run 'sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}'`,
    );
  }
  if (process.getuid?.() !== 0) {
    problems.push('not root: network namespaces need root (run the test command with sudo)');
  }
  if (problems.length === 0) {
    describe(name, fn);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      test('has what the real-Squid tests need', () => {
        throw new Error(`Cannot run '${name}': ${problems.join('; ')}`);
      });
    });
  } else {
    // eslint-disable-next-line no-console
    console.warn(`SKIPPED '${name}': ${problems.join('; ')}`);
    describe.skip(name, fn);
  }
}
