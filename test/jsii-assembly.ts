/** The jsii assembly (`.jsii`) that `npx projen compile` writes and API.md is generated from. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ASSEMBLY = join(__dirname, '..', '.jsii');

/** The assembly's type of a name such as `EgressProxyProviderOptions`, and the types it extends. */
export function jsiiType(name: string): { properties: any[]; parents: string[] } {
  if (!existsSync(ASSEMBLY)) throw new Error('No .jsii assembly: run `npx projen compile` first');
  const types = JSON.parse(readFileSync(ASSEMBLY, 'utf8')).types;
  const t = types[`cdk-private-egress-proxy.${name}`];
  if (t === undefined) throw new Error(`${name} is not in the assembly`);
  return {
    properties: t.properties ?? [],
    parents: (t.interfaces ?? []).map((fqn: string) => fqn.replace(/^cdk-private-egress-proxy\./, '')),
  };
}
