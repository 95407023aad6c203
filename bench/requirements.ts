import { existsSync } from 'node:fs';

/**
 * Throws, naming every problem at once, unless the process runs as root (the lab is a network
 * namespace) and each `[path, Debian package]` in `tools` exists.
 */
export function requireRootAndTools(what: string, tools: Array<[path: string, pkg: string]>): void {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push(`run as root: ${what} creates a network namespace`);
  const missing = tools.filter(([p]) => !existsSync(p)).map(([, pkg]) => pkg);
  if (missing.length) {
    problems.push(
      `missing packages: sudo apt-get update && sudo apt-get install -y ${[...new Set(missing)].join(' ')}`,
    );
  }
  if (problems.length) throw new Error(`Cannot run ${what}: ${problems.join('; ')}`);
}
