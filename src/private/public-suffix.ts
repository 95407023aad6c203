/** The two sections of the Public Suffix List. */
export type SuffixSection = 'icann' | 'private';

interface Section {
  /** Every public suffix named by a rule, and every ancestor of one, mapped to a suffix it leads to. */
  readonly bearing: Map<string, string>;
  /** `foo` for each wildcard rule `*.foo`: every direct child of `foo` is a public suffix. */
  readonly wildcardParents: Set<string>;
}

interface Suffixes {
  readonly icann: Section;
  readonly private: Section;
  /** Names excepted from a wildcard rule (`!city.kawasaki.jp`): registrable, not public suffixes. */
  readonly exceptions: Set<string>;
}

/**
 * The bundled `tldts` package's Public Suffix List: a trie of labels, top-level domain first. Node
 * `n`'s edges are `edgeStart[n]` to `edgeStart[n + 1] - 1`; edge `e` has the next
 * `edgeLength[e]` characters of `labelText` and leads to node `edgeChild[e]`, whose flags say
 * whether the labels so far are a rule: 1 in the ICANN section, 2 in the private section.
 */
interface SuffixTrie {
  readonly nodeFlags: ArrayLike<number>;
  readonly edgeStart: ArrayLike<number>;
  readonly edgeLength: ArrayLike<number>;
  readonly edgeChild: ArrayLike<number>;
  readonly labelText: string;
  readonly rulesRoot: number;
  readonly exceptionsRoot: number;
}

/** Every rule under `root`, with its trie flags (1 ICANN, 2 private). */
function trieRules(t: SuffixTrie, root: number): Array<[string, number]> {
  const offsets: number[] = [];
  for (let e = 0, o = 0; e < t.edgeLength.length; o += t.edgeLength[e], e++) offsets.push(o);
  const out: Array<[string, number]> = [];
  const pending: Array<[number, string]> = [[root, '']];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, name] = next;
    for (let e = t.edgeStart[node]; e < t.edgeStart[node + 1]; e++) {
      const label = t.labelText.slice(offsets[e], offsets[e] + t.edgeLength[e]);
      const child = t.edgeChild[e];
      const rule = name === '' ? label : `${label}.${name}`;
      if (t.nodeFlags[child] !== 0) out.push([rule, t.nodeFlags[child]]);
      pending.push([child, rule]);
    }
  }
  return out;
}

let suffixes: Suffixes | undefined;

/**
 * The Public Suffix List, rule by rule, with its section, from the bundled `tldts` package (the
 * list its own lookups use). tldts's public API answers for one name at a time and cannot list the
 * rules under a name (`s3.amazonaws.com` under `amazonaws.com`), so its data module is read.
 */
function load(): Suffixes {
  if (suffixes) return suffixes;
  const file = require.resolve('tldts/dist/cjs/src/data/trie');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const trie: SuffixTrie = require(file);
  const section = (): Section => ({ bearing: new Map(), wildcardParents: new Set() });
  const out: Suffixes = { icann: section(), private: section(), exceptions: new Set() };
  for (const [rule] of trieRules(trie, trie.exceptionsRoot)) out.exceptions.add(rule);
  for (const [rule, flags] of trieRules(trie, trie.rulesRoot)) {
    const s = flags === 1 ? out.icann : out.private;
    const name = rule.replace(/^\*\./, '');
    if (name !== rule) s.wildcardParents.add(name);
    s.bearing.set(name, rule);
    for (let i = name.indexOf('.'); i !== -1; i = name.indexOf('.', i + 1)) {
      const ancestor = name.slice(i + 1);
      if (!s.bearing.has(ancestor)) s.bearing.set(ancestor, rule);
    }
  }
  const ok =
    out.icann.bearing.get('com') === 'com' &&
    out.icann.bearing.get('co.uk') === 'co.uk' &&
    out.private.bearing.get('s3.amazonaws.com') === 's3.amazonaws.com' &&
    out.private.wildcardParents.has('compute.amazonaws.com') &&
    out.exceptions.has('city.kawasaki.jp') &&
    !out.icann.bearing.has('amazonaws.com');
  if (!ok) throw new Error(`The Public Suffix List at ${file} could not be read (unexpected format)`);
  suffixes = out;
  return out;
}

/** A public suffix that a wildcard covers, and its section. */
export interface CoveredSuffix {
  /** The Public Suffix List rule (`com`, `*.compute.amazonaws.com`, `s3.amazonaws.com`). */
  readonly suffix: string;
  readonly section: SuffixSection;
}

/**
 * The public suffix a wildcard over `name` (`.name` or `*.name`) covers: `name` itself, a suffix
 * under it, or, under a wildcard rule, `name` as one of the rule's suffixes. ICANN-section suffixes
 * (`com`, `co.uk`) win over private-section ones (`s3.amazonaws.com`). Undefined when third
 * parties cannot register names under `name`.
 */
export function publicSuffixWildcard(name: string): CoveredSuffix | undefined {
  const all = load();
  for (const sectionName of ['icann', 'private'] as const) {
    const s = all[sectionName];
    const bearing = s.bearing.get(name);
    if (bearing !== undefined) return { suffix: bearing, section: sectionName };
    // `*.compute.amazonaws.com` makes `eu-west-1.compute.amazonaws.com` a public suffix.
    const dot = name.indexOf('.');
    if (dot !== -1 && s.wildcardParents.has(name.slice(dot + 1)) && !all.exceptions.has(name)) {
      return { suffix: `*.${name.slice(dot + 1)}`, section: sectionName };
    }
  }
  return undefined;
}
