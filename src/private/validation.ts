import { Token } from 'aws-cdk-lib';

/** An AWS Region name such as `eu-west-1` or `us-gov-west-1`. */
export const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** An SSM parameter path: a leading '/', then letters, digits, '_', '.', '-' and '/', no trailing '/'. */
const SSM_PARAMETER_PREFIX = /^\/[A-Za-z0-9_.\-/]*[A-Za-z0-9_.-]$/;

/**
 * Check a TCP port prop (tokens pass: they resolve at deployment); the error names the prop.
 */
export function checkPort(prop: string, port: number): void {
  if (!Token.isUnresolved(port) && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new Error(`Invalid ${prop} ${port}: a TCP port is a whole number from 1 to 65535`);
  }
}

/**
 * Check a prop that holds an SSM parameter path prefix (tokens pass); the error names the prop.
 */
export function checkParameterPrefix(prop: string, prefix: string): void {
  if (!Token.isUnresolved(prefix) && !SSM_PARAMETER_PREFIX.test(prefix)) {
    throw new Error(
      `Invalid ${prop} '${prefix}': an SSM parameter path such as '/egress-proxy' (a leading '/', then letters, digits, '_', '.', '-' and '/', no trailing '/')`,
    );
  }
}
