/**
 * vCPUs and memory of EC2 instance types, read from the type's name and a table of families, so
 * the provider sizes Squid without a lookup at synthesis.
 *
 * Sizes follow the ladder `medium` 1 vCPU, `large` 2, `xlarge` 4, `Nxlarge` 4×N, `metal-Nxl` 4×N;
 * plain `metal` takes its family's vCPUs from {@link METAL_VCPUS}. Burstable families (`t2`, `t3`,
 * `t3a`, `t4g`) have their own table. Memory is the family's GiB per vCPU times the vCPUs (the
 * AWS instance-type pages list exactly these for the families below).
 */

/** vCPUs and memory of an instance type. */
export interface InstanceSize {
  readonly vcpus: number;
  readonly memoryMiB: number;
}

/** GiB of memory per vCPU, by family (the part of the name before the dot). */
const GIB_PER_VCPU: Array<[RegExp, number]> = [
  [/^c[34]$/, 1.875],
  [/^c5n$/, 2.625],
  [/^c[5-8][a-z]*(-flex)?$/, 2],
  [/^m3$/, 3.75],
  [/^m[4-8][a-z]*(-flex)?$/, 4],
  [/^r[34]$/, 7.625],
  [/^r[5-8][a-z]*$/, 8],
  [/^x1$/, 15.25],
  [/^x1e$/, 30.5],
  [/^x2(gd|idn)$/, 16],
  [/^x2(iedn|iezn)$/, 32],
  [/^x8g$/, 16],
  [/^z1d$/, 8],
  [/^a1$/, 2],
];

/** vCPUs of each family's plain `metal` size (sizes like `metal-24xl` carry their own). */
const METAL_VCPUS: Record<string, number> = {
  a1: 16,
  c5: 96,
  c5d: 96,
  c5n: 72,
  c6g: 64,
  c6gd: 64,
  c6i: 128,
  c6id: 128,
  c6in: 128,
  c6a: 192,
  c7g: 64,
  c7gd: 64,
  c7gn: 64,
  m5: 96,
  m5d: 96,
  m5dn: 96,
  m5n: 96,
  m5zn: 48,
  m6g: 64,
  m6gd: 64,
  m6i: 128,
  m6id: 128,
  m6idn: 128,
  m6in: 128,
  m6a: 192,
  m7g: 64,
  m7gd: 64,
  r5: 96,
  r5b: 96,
  r5d: 96,
  r5dn: 96,
  r5n: 96,
  r6g: 64,
  r6gd: 64,
  r6i: 128,
  r6id: 128,
  r6a: 192,
  r7g: 64,
  r7gd: 64,
  x2gd: 64,
  x2idn: 128,
  x2iedn: 128,
  z1d: 48,
};

/** Burstable sizes: [vCPUs, GiB] for t3, t3a and t4g; t2 differs up to `small` and at `medium`. */
const BURSTABLE: Record<string, [number, number]> = {
  nano: [2, 0.5],
  micro: [2, 1],
  small: [2, 2],
  medium: [2, 4],
  large: [2, 8],
  xlarge: [4, 16],
  '2xlarge': [8, 32],
};
const T2: Record<string, [number, number]> = { ...BURSTABLE, nano: [1, 0.5], micro: [1, 1], small: [1, 2] };

/**
 * The vCPUs and memory of an instance type, or `undefined` when the family is not in the table,
 * the size does not follow the ladder, or the name is an unresolved token.
 */
export function instanceSizeOf(name: string): InstanceSize | undefined {
  const m = /^([a-z][a-z0-9-]*)\.([a-z0-9-]+)$/.exec(name.trim().toLowerCase());
  if (!m) return undefined;
  const [, family, size] = m;
  if (/^t[234]a?g?$/.test(family)) {
    const row = (family === 't2' ? T2 : BURSTABLE)[size];
    return row ? { vcpus: row[0], memoryMiB: row[1] * 1024 } : undefined;
  }
  const perVcpu = GIB_PER_VCPU.find(([re]) => re.test(family))?.[1];
  const vcpus = vcpusOfSize(family, size);
  if (perVcpu === undefined || vcpus === undefined) return undefined;
  return { vcpus, memoryMiB: Math.round(vcpus * perVcpu * 1024) };
}

/**
 * The vCPUs of an instance type: from {@link instanceSizeOf}, or from the size alone for a family
 * the memory table does not know (`medium` 1, `large` 2, …). `undefined` when neither tells.
 */
export function vcpusOfInstanceType(name: string): number | undefined {
  const known = instanceSizeOf(name);
  if (known) return known.vcpus;
  const m = /^([a-z][a-z0-9-]*)\.([a-z0-9-]+)$/.exec(name.trim().toLowerCase());
  return m && !/^t\d/.test(m[1]) ? vcpusOfSize(m[1], m[2]) : undefined;
}

function vcpusOfSize(family: string, size: string): number | undefined {
  if (size === 'medium') return 1;
  if (size === 'large') return 2;
  if (size === 'xlarge') return 4;
  const n = /^(\d+)xlarge$/.exec(size) ?? /^metal-(\d+)xl$/.exec(size);
  if (n) return Number(n[1]) * 4;
  if (size === 'metal') return METAL_VCPUS[family];
  return undefined;
}
