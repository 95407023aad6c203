import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let suffixBearing: Set<string> | undefined;

/**
 * Every name that is a public suffix (ICANN and private sections of the Public Suffix
 * List, shipped by the bundled `psl` package) or an ancestor of one. A wildcard over such a
 * name lets anyone who registers a name under that suffix receive traffic through the proxy.
 */
function load(): Set<string> {
  if (suffixBearing) return suffixBearing;
  // psl ships the raw rules as an ES module that its package exports do not expose.
  const file = join(dirname(require.resolve('psl')), '..', 'data', 'rules.js');
  const text = readFileSync(file, 'utf8');
  const rules: string[] = JSON.parse(text.slice(text.indexOf('['), text.lastIndexOf(']') + 1));
  const set = new Set<string>();
  for (const rule of rules) {
    if (rule.startsWith('!')) continue;
    let name = rule.replace(/^\*\./, '');
    set.add(name);
    for (let i = name.indexOf('.'); i !== -1; i = name.indexOf('.', i + 1)) set.add(name.slice(i + 1));
    name = '';
  }
  if (!set.has('com') || !set.has('amazonaws.com')) {
    throw new Error(`The Public Suffix List at ${file} could not be read (unexpected format)`);
  }
  suffixBearing = set;
  return set;
}

/** True when a wildcard over `name` covers names that third parties can register. */
export function wildcardCoversPublicSuffix(name: string): boolean {
  return load().has(name);
}
