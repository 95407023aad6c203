import { CfnResource } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** One cdk-nag acknowledgement: the rule, why it does not apply, and optionally which findings. */
export interface NagAcknowledgement {
  readonly id: string;
  readonly reason: string;
  /** Finding IDs (e.g. `Resource::*`) or `{ regex: '/…/' }` objects, as cdk-nag's `appliesTo`. */
  readonly appliesTo?: Array<string | { regex: string }>;
}

/**
 * Record cdk-nag acknowledgements on a resource in cdk-nag's own metadata format
 * (`Metadata.cdk_nag.rules_to_suppress`), which cdk-nag reads without this library depending on it.
 *
 * `scope` is a CfnResource or a construct whose default child is one.
 */
export function acknowledgeNagFindings(scope: IConstruct, acks: NagAcknowledgement[]): void {
  const resource = scope instanceof CfnResource ? scope : scope.node.defaultChild;
  if (!(resource instanceof CfnResource)) {
    throw new Error(
      `Cannot record cdk-nag acknowledgements on ${scope.node.path}: it is not a CloudFormation resource`,
    );
  }
  const existing = resource.getMetadata('cdk_nag')?.rules_to_suppress ?? [];
  const added = acks.map((a) => {
    if (a.reason.length < 10 || /[^\x20-\x7e]/.test(a.reason)) {
      throw new Error(`cdk-nag reason for ${a.id} must be printable ASCII of 10 characters or more`);
    }
    return a.appliesTo ? { reason: a.reason, id: a.id, applies_to: a.appliesTo } : { reason: a.reason, id: a.id };
  });
  resource.addMetadata('cdk_nag', { rules_to_suppress: [...existing, ...added] });
}
