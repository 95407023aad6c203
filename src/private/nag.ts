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

/**
 * One template-checker acknowledgement: a cfn-lint rule (`E3009`) or a checkov check
 * (`CKV_AWS_91`) that does not apply to this resource, and why.
 */
export interface TemplateCheckAcknowledgement {
  readonly id: string;
  readonly reason: string;
}

/**
 * Record acknowledgements of cfn-lint and checkov findings on a resource, next to it, in each
 * tool's own metadata format: `Metadata['cfn-lint'].config.ignore_checks` (cfn-lint has no field
 * for the reason, so the reasons go in `Metadata['cfn-lint'].config.ignore_reasons`, which it
 * ignores) and `Metadata.checkov.skip` (`[{ id, comment }]`). docs/TEMPLATE-CHECKS.md lists them.
 */
export function acknowledgeTemplateChecks(scope: IConstruct, acks: TemplateCheckAcknowledgement[]): void {
  // An L2 whose resource is not its default child (ec2.VpcEndpointService): its one CfnResource.
  const children = scope.node.children.filter((c) => c instanceof CfnResource);
  const resource =
    scope instanceof CfnResource
      ? scope
      : (scope.node.defaultChild ?? (children.length === 1 ? children[0] : undefined));
  if (!(resource instanceof CfnResource)) {
    throw new Error(
      `Cannot record template-check acknowledgements on ${scope.node.path}: it is not a CloudFormation resource`,
    );
  }
  const cfnLint = acks.filter((a) => !a.id.startsWith('CKV'));
  const checkov = acks.filter((a) => a.id.startsWith('CKV'));
  if (cfnLint.length > 0) {
    const config = resource.getMetadata('cfn-lint')?.config ?? {};
    resource.addMetadata('cfn-lint', {
      config: {
        ...config,
        ignore_checks: [...(config.ignore_checks ?? []), ...cfnLint.map((a) => a.id)],
        ignore_reasons: {
          ...(config.ignore_reasons ?? {}),
          ...Object.fromEntries(cfnLint.map((a) => [a.id, a.reason])),
        },
      },
    });
  }
  if (checkov.length > 0) {
    const skip = resource.getMetadata('checkov')?.skip ?? [];
    resource.addMetadata('checkov', { skip: [...skip, ...checkov.map((a) => ({ id: a.id, comment: a.reason }))] });
  }
}
