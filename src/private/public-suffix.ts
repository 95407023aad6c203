import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { getPublicSuffix } from 'tldts';

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

let suffixes: Suffixes | undefined;

/**
 * The Public Suffix List, rule by rule, with its section. The bundled `psl` package ships every rule
 * but has dropped the `===BEGIN PRIVATE DOMAINS===` markers; `tldts` (whose default lookup uses
 * only the ICANN section) tells the sections apart: a rule is in the ICANN section exactly when
 * tldts's ICANN-only public suffix of a name under it is the rule itself.
 */
function load(): Suffixes {
  if (suffixes) return suffixes;
  // psl ships the raw rules as an ES module that its package exports do not expose.
  const file = join(dirname(require.resolve('psl')), '..', 'data', 'rules.js');
  const text = readFileSync(file, 'utf8');
  const rules: string[] = JSON.parse(text.slice(text.indexOf('['), text.lastIndexOf(']') + 1));
  const section = (): Section => ({ bearing: new Map(), wildcardParents: new Set() });
  const out: Suffixes = { icann: section(), private: section(), exceptions: new Set() };
  for (const rule of rules) {
    if (rule.startsWith('!')) {
      out.exceptions.add(rule.slice(1));
      continue;
    }
    const name = rule.replace(/^\*\./, '');
    const wildcard = name !== rule;
    // A name under the rule, to ask tldts which section the rule is in.
    const probe = wildcard ? `pep-probe.${name}` : name;
    const s = getPublicSuffix(probe) === probe ? out.icann : out.private;
    if (wildcard) s.wildcardParents.add(name);
    s.bearing.set(name, rule);
    for (let i = name.indexOf('.'); i !== -1; i = name.indexOf('.', i + 1)) {
      const ancestor = name.slice(i + 1);
      if (!s.bearing.has(ancestor)) s.bearing.set(ancestor, rule);
    }
  }
  const ok =
    out.icann.bearing.has('com') &&
    out.icann.bearing.has('co.uk') &&
    out.private.bearing.get('s3.amazonaws.com') === 's3.amazonaws.com' &&
    out.private.wildcardParents.has('compute.amazonaws.com') &&
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
