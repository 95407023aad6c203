import { Stack, Token } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { EgressProxyProvider } from './egress-proxy-provider';

const SERVICE_NAME = /^com\.amazonaws\.vpce\.[a-z]{2}(-[a-z]+)+-\d+\.vpce-svc-[0-9a-f]{8}([0-9a-f]{9})?$/;

/**
 * Where a consumer finds the proxy's VPC endpoint service: the provider construct in the same
 * app, its service name, or an SSM parameter that holds the service name (for other stacks and
 * accounts).
 */
export abstract class EgressProxyService {
  /**
   * The provider construct in this app. The consumer's port and Availability Zones are checked
   * against it at synth time.
   */
  public static fromProvider(provider: EgressProxyProvider): EgressProxyService {
    return new (class extends EgressProxyService {
      public bind(): EgressProxyServiceConfig {
        return {
          serviceName: provider.endpointServiceName,
          port: provider.port,
          availabilityZones: provider.availabilityZones,
          account: Stack.of(provider).account,
          region: Stack.of(provider).region,
        };
      }
    })();
  }

  /**
   * A service name such as `com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0`.
   *
   * @param serviceName the provider's endpoint service name
   * @param port the provider's proxy port (default 3128)
   */
  public static fromServiceName(serviceName: string, port?: number): EgressProxyService {
    if (!Token.isUnresolved(serviceName) && !SERVICE_NAME.test(serviceName)) {
      throw new Error(
        `Invalid endpoint service name '${serviceName}': expected 'com.amazonaws.vpce.<region>.vpce-svc-<17 hex digits>'`,
      );
    }
    return new (class extends EgressProxyService {
      public bind(): EgressProxyServiceConfig {
        return { serviceName, port: port ?? 3128 };
      }
    })();
  }

  /**
   * An SSM parameter (in the consumer's account and Region) that holds the service name; read at
   * deploy time, so synth needs no credentials or lookups. The provider publishes one with
   * `serviceNameParameterName`; in another account, copy its value into a parameter there.
   *
   * @param parameterName the parameter's name, e.g. `/egress-proxy/service-name`
   * @param port the provider's proxy port (default 3128)
   */
  public static fromSsmParameter(parameterName: string, port?: number): EgressProxyService {
    if (!Token.isUnresolved(parameterName) && !/^[a-zA-Z0-9_.\-/]+$/.test(parameterName)) {
      throw new Error(`Invalid SSM parameter name '${parameterName}': letters, digits and _.-/ only`);
    }
    return new (class extends EgressProxyService {
      public bind(scope: Construct): EgressProxyServiceConfig {
        return {
          serviceName: ssm.StringParameter.valueForStringParameter(scope, parameterName),
          port: port ?? 3128,
        };
      }
    })();
  }

  /** Resolve the service for a consumer. */
  public abstract bind(scope: Construct): EgressProxyServiceConfig;
}

/**
 * What a consumer needs to know about the proxy service.
 */
export interface EgressProxyServiceConfig {
  /** The endpoint service name. */
  readonly serviceName: string;
  /** The proxy port. */
  readonly port: number;
  /**
   * Availability Zones (names, in the provider's account) the service runs in.
   * @default - unknown
   */
  readonly availabilityZones?: string[];
  /**
   * The provider's account (AZ names only compare within one account).
   * @default - unknown
   */
  readonly account?: string;
  /**
   * The provider's Region.
   * @default - unknown
   */
  readonly region?: string;
}
