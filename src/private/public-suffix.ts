import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

interface Suffixes {
  /** Every public suffix named by a plain rule, and every ancestor of any public suffix. */
  readonly bearing: Set<string>;
  /** `foo` for each wildcard rule `*.foo`: every direct child of `foo` is a public suffix. */
  readonly wildcardParents: Set<string>;
  /** Names excepted from a wildcard rule (`!city.kawasaki.jp`): registrable, not public suffixes. */
  readonly exceptions: Set<string>;
}

let suffixes: Suffixes | undefined;

/**
 * The public suffixes of the Public Suffix List (ICANN and private sections, shipped by the
 * bundled `psl` package) and their ancestors. A wildcard over such a name lets anyone who
 * registers a name under that suffix receive traffic through the proxy.
 */
function load(): Suffixes {
  if (suffixes) return suffixes;
  // psl ships the raw rules as an ES module that its package exports do not expose.
  const file = join(dirname(require.resolve('psl')), '..', 'data', 'rules.js');
  const text = readFileSync(file, 'utf8');
  const rules: string[] = JSON.parse(text.slice(text.indexOf('['), text.lastIndexOf(']') + 1));
  const bearing = new Set<string>();
  const wildcardParents = new Set<string>();
  const exceptions = new Set<string>();
  for (const rule of rules) {
    if (rule.startsWith('!')) {
      exceptions.add(rule.slice(1));
      continue;
    }
    const name = rule.replace(/^\*\./, '');
    if (name !== rule) wildcardParents.add(name);
    bearing.add(name);
    for (let i = name.indexOf('.'); i !== -1; i = name.indexOf('.', i + 1)) bearing.add(name.slice(i + 1));
  }
  if (!bearing.has('com') || !bearing.has('amazonaws.com') || !wildcardParents.has('compute.amazonaws.com')) {
    throw new Error(`The Public Suffix List at ${file} could not be read (unexpected format)`);
  }
  suffixes = { bearing, wildcardParents, exceptions };
  return suffixes;
}

/** True when a wildcard over `name` covers names that third parties can register. */
export function wildcardCoversPublicSuffix(name: string): boolean {
  const { bearing, wildcardParents, exceptions } = load();
  if (bearing.has(name)) return true;
  // `*.compute.amazonaws.com` makes `eu-west-1.compute.amazonaws.com` a public suffix.
  const dot = name.indexOf('.');
  return dot !== -1 && wildcardParents.has(name.slice(dot + 1)) && !exceptions.has(name);
}
