/**
 * A 10,000-entry policy answers correctly for entries at every position and for near misses: a
 * property of the lookup structure, not a timing assertion. (Its own file: mutation testing runs
 * the faster policy tests.)
 */
import { EgressPolicy, EgressPolicyProps, EgressRule } from '../src/egress-policy';

function policy(allowedDomains: string[], props: Omit<EgressPolicyProps, 'allowedDomains'> = {}): EgressPolicy {
  return new EgressPolicy({ ...props, allowedDomains });
}
const ALLOWED = { allowed: true, rule: EgressRule.ALLOWLISTED, audited: false, consumers: [] };
const denied = (rule: EgressRule) => ({ allowed: false, rule, audited: false, consumers: [] });
const decide = (p: EgressPolicy, host: string) => p.evaluate({ host });

describe('a 10,000-entry policy', () => {
  // A property of the lookup structure, not a timing assertion: a 10,000-entry policy must answer
  // correctly for entries at every position and for near misses.
  const N = 10_000;
  const exact = (i: number) => `host-${i}.zone-${i % 97}.example.test`;
  const wild = (i: number) => `svc-${i}.wild.test`;
  const entries: string[] = [];
  for (let i = 0; i < N / 2; i++) entries.push(exact(i), `.${wild(i)}`);
  // Built by the first test that needs it (not at import, so mutation testing sees the tests).
  let built: EgressPolicy | undefined;
  const scaled = () => (built ??= policy(entries));

  test('a 10,000-entry policy keeps every entry', () => {
    expect(scaled().domains).toHaveLength(N);
    expect(scaled().warnings).toEqual([]);
  });

  test.each([0, 1, N / 4, N / 2 - 2, N / 2 - 1])('entries at position %i are allowed', (i) => {
    expect(decide(scaled(), exact(i))).toEqual(ALLOWED);
    expect(decide(scaled(), wild(i))).toEqual(ALLOWED);
    expect(decide(scaled(), `deep.sub.${wild(i)}`)).toEqual(ALLOWED);
  });

  test('every entry is allowed', () => {
    for (let i = 0; i < N / 2; i++) {
      expect(scaled().evaluate({ host: exact(i) }).allowed).toBe(true);
      expect(scaled().evaluate({ host: `x.${wild(i)}` }).allowed).toBe(true);
    }
  });

  test.each([
    `host-${N}.zone-${N % 97}.example.test`,
    'host-0.zone-1.example.test',
    `x.host-0.zone-0.example.test`,
    'zone-0.example.test',
    'example.test',
    'wild.test',
    `svc-${N}.wild.test`,
    'svc-0.wild.test.evil.test',
    'evilsvc-0.wild.test',
  ])('a near miss (%s) is denied', (host) => {
    expect(decide(scaled(), host)).toEqual(denied(EgressRule.DESTINATION_NOT_ALLOWED));
  });
});
