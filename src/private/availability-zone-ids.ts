import { Token } from 'aws-cdk-lib';

/** An AZ ID: `use1-az1`, a Local Zone's `usw2-lax1-az1`, a Wavelength Zone's `usw2-wl1-den-wlz1`. */
const ZONE_ID = /^[a-z]{2,}\d+(-[a-z0-9]+)*-(az|wlz)\d+$/;
/** A zone name: `eu-west-1a`, a Local Zone's `us-west-2-lax-1a`. */
const ZONE_NAME = /^[a-z]{2}(-[a-z0-9]+)+[a-z]$/;

/** One zone's name in an account and its AZ ID. */
export interface ZoneNameAndId {
  readonly zoneName: string;
  readonly zoneId: string;
}

/** Checks and maps AZ IDs. Tokens (values known only at deploy time) pass unchecked. */
export class AvailabilityZoneIds {
  /**
   * Check a list of AZ IDs: each well-formed, no repeats, all in one Region (one prefix).
   * @param prop the prop the list came from, as API.md spells it (named in errors)
   */
  public static parse(ids: string[], prop: string): string[] {
    if (Token.isUnresolved(ids)) return ids;
    if (ids.length === 0) {
      throw new Error(`Invalid ${prop} []: give the AZ IDs of the zones the service spans, or leave ${prop} out`);
    }
    for (const id of ids) {
      if (!Token.isUnresolved(id) && !ZONE_ID.test(id)) {
        throw new Error(
          `Invalid ${prop} entry '${id}': an AZ ID looks like 'use1-az1' (not a zone name such as 'us-east-1a', which differs between accounts)`,
        );
      }
    }
    const literal = ids.filter((id) => !Token.isUnresolved(id));
    const repeated = literal.find((id, i) => literal.indexOf(id) !== i);
    if (repeated !== undefined) throw new Error(`Invalid ${prop}: '${repeated}' is listed twice`);
    const prefixes = [...new Set(literal.map((id) => id.split('-')[0]))];
    if (prefixes.length > 1) {
      throw new Error(`Invalid ${prop}: ${literal.join(', ')} are in different Regions (${prefixes.join(', ')})`);
    }
    return ids;
  }

  /** Whether every entry is known at synth time. */
  public static isKnown(ids: string[] | undefined): ids is string[] {
    return ids !== undefined && !Token.isUnresolved(ids) && ids.every((id) => !Token.isUnresolved(id));
  }

  /**
   * Check an account's zone names and IDs (names and IDs each unique, well-formed).
   * @param prop the prop the list came from, as API.md spells it (named in errors)
   */
  public static parseMappings(mappings: ZoneNameAndId[], prop: string): ZoneNameAndId[] {
    if (mappings.length === 0) {
      throw new Error(`Invalid ${prop} []: list this account's zones (name and AZ ID), or leave ${prop} out`);
    }
    for (const m of mappings) {
      if (Token.isUnresolved(m.zoneName) || !ZONE_NAME.test(m.zoneName)) {
        throw new Error(
          `Invalid ${prop} zoneName '${m.zoneName}': a zone name such as 'eu-west-1a', known at synth time`,
        );
      }
      if (Token.isUnresolved(m.zoneId) || !ZONE_ID.test(m.zoneId)) {
        throw new Error(
          `Invalid ${prop} zoneId '${m.zoneId}' (for ${m.zoneName}): an AZ ID such as 'euw1-az1', known at synth time`,
        );
      }
    }
    for (const key of ['zoneName', 'zoneId'] as const) {
      const values = mappings.map((m) => m[key]);
      const repeated = values.find((v, i) => values.indexOf(v) !== i);
      if (repeated !== undefined) throw new Error(`Invalid ${prop}: ${key} '${repeated}' is listed twice`);
    }
    return mappings;
  }

  private constructor() {}
}
