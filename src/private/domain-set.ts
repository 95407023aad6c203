import { DomainEntry, MatchKind } from './domain-name';

interface Flags {
  apex: boolean;
  subdomains: boolean;
}

/**
 * A normalised allowlist: a map from name to whether the name itself and/or its
 * subdomains are allowed. Lookups walk the labels of the host (O(labels)), never the list.
 */
export class DomainSet {
  /** Messages about entries that were dropped as duplicates or already covered. */
  public readonly dropped: string[] = [];
  private readonly flags = new Map<string, Flags>();
  private readonly byName: Map<string, DomainEntry[]>;

  constructor(entries: DomainEntry[]) {
    const seen = new Map<string, string>();
    const byName = new Map<string, DomainEntry[]>();
    for (const e of entries) {
      const key = `${e.kind}:${e.name}`;
      const first = seen.get(key);
      if (first !== undefined) {
        this.dropped.push(`'${e.input}' is a duplicate of '${first}' and was dropped`);
        continue;
      }
      seen.set(key, e.input);
      const list = byName.get(e.name);
      if (list) list.push(e);
      else byName.set(e.name, [e]);
      const f = this.flags.get(e.name) ?? { apex: false, subdomains: false };
      if (e.kind !== MatchKind.SUBDOMAINS_ONLY) f.apex = true;
      if (e.kind !== MatchKind.EXACT) f.subdomains = true;
      this.flags.set(e.name, f);
    }
    this.byName = byName;
    const wildcardInput = (name: string) => this.wildcardInput(name);
    // Drop what an ancestor's wildcard already covers.
    for (const name of [...this.flags.keys()]) {
      const cover = this.coveringAncestor(name);
      if (cover !== undefined) {
        this.flags.delete(name);
        for (const e of byName.get(name)!) {
          this.dropped.push(`'${e.input}' is already covered by '${wildcardInput(cover)}' and was dropped`);
        }
      }
    }
    // `.name` already allows `name` and `*.name`: drop those entries for the same name.
    for (const [name, list] of byName) {
      const both = list.find((e) => e.kind === MatchKind.NAME_AND_SUBDOMAINS);
      if (!this.flags.has(name) || both === undefined) continue;
      for (const e of list) {
        if (e !== both) this.dropped.push(`'${e.input}' is already covered by '${both.input}' and was dropped`);
      }
    }
  }

  /** Number of distinct names after normalisation. */
  public get size(): number {
    return this.flags.size;
  }

  /** True when the host is allowed; `host` must already be normalised. */
  public matches(host: string): boolean {
    if (this.flags.get(host)?.apex) return true;
    return this.coveringAncestor(host) !== undefined;
  }

  /** Entries in Squid `dstdomain` syntax (`.name` covers the name and all subdomains). */
  public squidEntries(): string[] {
    const out: string[] = [];
    for (const [name, f] of this.flags) out.push(f.subdomains ? `.${name}` : name);
    return out.sort();
  }

  /**
   * Names whose subdomains are allowed but which are not allowed themselves (`*.example.com`
   * without `example.com`). Squid's `.example.com` also matches the apex, so these are denied
   * explicitly before the allowlist.
   */
  public subdomainOnlyApexes(): string[] {
    const out: string[] = [];
    for (const [name, f] of this.flags) if (f.subdomains && !f.apex) out.push(name);
    return out.sort();
  }

  /** The entry as the user wrote it (`*.example.com`, `.Example.com`) that allows `name`'s subdomains. */
  public wildcardInput(name: string): string {
    return this.byName.get(name)!.find((e) => e.kind !== MatchKind.EXACT)!.input;
  }

  /** True when some `*.name` entry allows a name's subdomains but not the name. */
  public get hasSubdomainOnlyApexes(): boolean {
    for (const f of this.flags.values()) if (f.subdomains && !f.apex) return true;
    return false;
  }

  /** True when `name` is the apex of a `*.name` entry, which allows its subdomains only. */
  public isSubdomainOnlyApex(name: string): boolean {
    const f = this.flags.get(name);
    return f !== undefined && f.subdomains && !f.apex;
  }

  /** Names allowed together with their subdomains. */
  public wildcardNames(): string[] {
    return [...this.flags].filter(([, f]) => f.subdomains).map(([n]) => n);
  }

  /** The nearest proper ancestor of `name` whose subdomains are allowed (`a.b.c` looks at `b.c`, then `c`). */
  private coveringAncestor(name: string): string | undefined {
    for (let i = name.indexOf('.'); i !== -1; i = name.indexOf('.', i + 1)) {
      const ancestor = name.slice(i + 1);
      if (this.flags.get(ancestor)?.subdomains) return ancestor;
    }
    return undefined;
  }
}
