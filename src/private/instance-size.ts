/**
 * The vCPUs of an EC2 instance type, read from its size name (`c7gn.medium` → 1, `m7g.2xlarge` →
 * 8), so Squid can run one worker per vCPU without a lookup at synth time.
 *
 * Burstable families (`t3`, `t3a`, `t4g`) have 2 vCPUs up to `large`; `t2` has 1 up to `small`.
 * Other families follow the usual ladder: `medium` 1, `large` 2, `xlarge` 4, `Nxlarge` 4×N.
 *
 * @returns the vCPU count, or `undefined` when the name does not follow the ladder (`metal`,
 * unusual sizes, or an unresolved token): the caller then picks a safe default.
 */
export function vcpusOfInstanceType(name: string): number | undefined {
  const m = /^([a-z][a-z0-9-]*)\.([a-z0-9]+)$/.exec(name.trim().toLowerCase());
  if (!m) return undefined;
  const [, family, size] = m;
  const burstable = /^t\d/.test(family);
  const small = ['nano', 'micro', 'small', 'medium', 'large'];
  if (burstable && small.includes(size)) {
    if (family === 't2') return size === 'medium' || size === 'large' ? 2 : 1;
    return 2;
  }
  if (size === 'medium') return 1;
  if (size === 'large') return 2;
  if (size === 'xlarge') return 4;
  const n = /^(\d+)xlarge$/.exec(size);
  if (n) return Number(n[1]) * 4;
  return undefined;
}
