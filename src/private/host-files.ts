import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The folder of the files an instance runs: shell scripts, systemd units and configuration
 * templates. It ships in the npm package beside `lib/` and is read at synthesis.
 */
export const HOST_FILES_DIR = join(__dirname, '..', '..', 'assets', 'host');

/** The text of a host file, as it is in the package. */
export function hostFile(name: string): string {
  return readFileSync(join(HOST_FILES_DIR, name), 'utf8');
}

/** Values of a host template, by placeholder name. Strings may hold CDK tokens. */
export type HostTemplateValues = Record<string, string | number>;

/**
 * A host template with its `{{name}}` placeholders replaced: the one way values reach a unit or
 * configuration file. Every placeholder needs a value and every value a placeholder, so a renamed
 * placeholder fails synthesis instead of shipping a literal `{{name}}` to the instance.
 */
export function renderHostTemplate(name: string, values: HostTemplateValues): string {
  const text = hostFile(name);
  const used = new Set<string>();
  const out = text.replace(/\{\{([A-Za-z][A-Za-z0-9]*)\}\}/g, (_m, key: string) => {
    if (!(key in values)) throw new Error(`Host template ${name} needs a value for {{${key}}}`);
    used.add(key);
    return String(values[key]);
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length > 0) throw new Error(`Host template ${name} has no placeholder for ${unused.join(', ')}`);
  return out;
}

/**
 * A shell script with its settings: the script file is unchanged, and the values go in as shell
 * variable assignments right after its first line (`#!/bin/bash`). Values are single-quoted; they
 * may be tokens (stack name, Region, logical IDs), which never contain a quote.
 */
export function scriptWithValues(name: string, values: Record<string, string>): string {
  const [shebang, ...rest] = hostFile(name).split('\n');
  if (shebang !== '#!/bin/bash') throw new Error(`Host script ${name} must start with #!/bin/bash`);
  const assignments = Object.entries(values).map(([k, v]) => `${k}=${shellQuote(v)}`);
  return [shebang, ...assignments, ...rest].join('\n');
}

/** Shell variable assignments (one `NAME='value'` per line), as an environment file. */
export function shellAssignments(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${shellQuote(String(v))}`)
    .join('\n');
}

function shellQuote(value: string): string {
  if (value.includes("'")) throw new Error(`A host setting may not contain a single quote: ${value}`);
  return `'${value}'`;
}
