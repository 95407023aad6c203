import { Stack, Token } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, IConstruct } from 'constructs';
import { AvailabilityZoneIds } from './private/availability-zone-ids';
import { SERVICE_PARAMETERS } from './private/proxy-endpoint-service';
import { checkParameterPrefix, checkPort, REGION_NAME } from './private/validation';

/** `com.amazonaws.vpce.<region>.vpce-svc-<8 or 17 hex digits>`; the Region is the first group. */
const SERVICE_NAME = /^com\.amazonaws\.vpce\.([a-z]{2}(?:-[a-z]+)+-\d+)\.vpce-svc-[0-9a-f]{8}(?:[0-9a-f]{9})?$/;

/**
 * What a consumer needs to know about the egress proxy's VPC endpoint service.
 *
 * An {@link EgressProxyProvider} is one (for consumers in the same account and app); for a
 * consumer in another account or app, import the provider's attributes with
 * {@link EgressProxyService.fromServiceAttributes} (no cross-stack reference, no lookup).
 */
export interface IEgressProxyService extends IConstruct {
  /** The endpoint service name consumers connect to (`com.amazonaws.vpce.<region>.vpce-svc-…`). */
  readonly endpointServiceName: string;
  /** The proxy port, on the load balancer and on every consumer endpoint. */
  readonly port: number;
  /** The Region of the endpoint service (a token in an environment-agnostic provider stack). */
  readonly region: string;
  /**
   * The AZ IDs (`euw1-az1`) of the zones the service's load balancer spans: the only zones, in
   * any account, where a consumer can create an endpoint network interface.
   *
   * @default - unknown: the consumer's zones cannot be checked at synth time
   */
  readonly availabilityZoneIds?: string[];
}

/**
 * The attributes of an egress proxy service in another account or app, as account A's
 * provider publishes them (stack outputs, or the SSM parameters of
 * `EgressProxyProviderOptions.ssmParameterPrefix`).
 */
export interface EgressProxyServiceAttributes {
  /** The endpoint service name, e.g. `com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0`. */
  readonly serviceName: string;
  /**
   * The proxy port.
   * @default 3128
   */
  readonly port?: number;
  /**
   * The AZ IDs the service spans (account A's `EgressProxyProvider.availabilityZoneIds`, e.g.
   * `['euw1-az1', 'euw1-az2']`). With them, and the consumer account's zone names and IDs
   * (`EgressProxyEndpointOptions.zoneIds`), the endpoint is placed only in zones the service
   * serves and a wrong zone fails at synth time.
   *
   * @default - unknown: the endpoint's zones are not checked, and synthesis warns
   */
  readonly availabilityZoneIds?: string[];
  /**
   * The service's Region.
   * @default - the Region in `serviceName`; the consumer stack's Region when the name is a token
   */
  readonly region?: string;
}

/**
 * Options of {@link EgressProxyService.fromSsmParameters}.
 */
export interface EgressProxyServiceParametersOptions {
  /**
   * The path the provider wrote its parameters under (`EgressProxyProviderOptions.ssmParameterPrefix`),
   * or where they were copied to in the consumer's account, e.g. `/egress-proxy`. The service name
   * is read from `<prefix>/service-name`.
   */
  readonly parameterPrefix: string;
  /**
   * The proxy port: it shapes the endpoint's security group and the proxy URL at synth time,
   * so it is given here rather than read at deploy time.
   * @default 3128
   */
  readonly port?: number;
}

/**
 * Where a consumer finds the proxy's VPC endpoint service when the provider construct is not in
 * the same app and account: its published attributes, given in code or read from SSM
 * parameters at deploy time. Nothing here looks anything up at synth time.
 */
export class EgressProxyService {
  /**
   * The attributes of a provider in another account or app, e.g. copied from its stack outputs.
   * The service name, port, Region and AZ IDs are checked at synth time.
   *
   * @param scope the parent construct (the consumer's stack or a construct in it)
   * @param id the construct ID
   * @param attrs the provider's published attributes
   */
  public static fromServiceAttributes(
    scope: Construct,
    id: string,
    attrs: EgressProxyServiceAttributes,
  ): IEgressProxyService {
    return new ImportedEgressProxyService(scope, id, () => attrs);
  }

  /**
   * The service name from the SSM parameter `<parameterPrefix>/service-name` in the consumer's
   * account and Region, read at deploy time. The provider writes it with `ssmParameterPrefix`;
   * for another account, copy it there. The service's AZ IDs are not known at synth time this
   * way, so the endpoint's zones are not checked (synthesis warns): give the endpoint subnets in
   * the zones of `<parameterPrefix>/availability-zone-ids`, or use `fromServiceAttributes`.
   *
   * @param scope the parent construct (the consumer's stack or a construct in it)
   * @param id the construct ID
   * @param options where the parameters are, and the port
   */
  public static fromSsmParameters(
    scope: Construct,
    id: string,
    options: EgressProxyServiceParametersOptions,
  ): IEgressProxyService {
    const prefix = options.parameterPrefix;
    checkParameterPrefix('parameterPrefix', prefix);
    return new ImportedEgressProxyService(scope, id, (self) => ({
      serviceName: ssm.StringParameter.valueForStringParameter(self, `${prefix}/${SERVICE_PARAMETERS.serviceName}`),
      port: options.port,
    }));
  }

  private constructor() {}
}

/** The attributes of an imported service, validated. */
class ImportedEgressProxyService extends Construct implements IEgressProxyService {
  public readonly endpointServiceName: string;
  public readonly port: number;
  public readonly region: string;
  public readonly availabilityZoneIds?: string[];

  /** @param attributes the attributes, read in the scope of this construct (SSM parameters are) */
  constructor(scope: Construct, id: string, attributes: (self: Construct) => EgressProxyServiceAttributes) {
    super(scope, id);
    const attrs = attributes(this);
    const name = attrs.serviceName;
    const nameRegion = Token.isUnresolved(name) ? undefined : SERVICE_NAME.exec(name)?.[1];
    if (!Token.isUnresolved(name) && nameRegion === undefined) {
      throw new Error(
        `Invalid serviceName '${name}': expected 'com.amazonaws.vpce.<region>.vpce-svc-<17 hex digits>', as the provider's endpointServiceName output shows it`,
      );
    }
    const port = attrs.port ?? 3128;
    checkPort('port', port);
    const region = attrs.region;
    if (region !== undefined && !Token.isUnresolved(region)) {
      if (!REGION_NAME.test(region)) {
        throw new Error(`Invalid region '${region}': expected a Region name such as 'eu-west-1'`);
      }
      if (nameRegion !== undefined && nameRegion !== region) {
        throw new Error(
          `Invalid region '${region}': serviceName '${name}' is a service in ${nameRegion}; give the provider's Region or leave region out`,
        );
      }
    }
    this.endpointServiceName = name;
    this.port = port;
    this.region = region ?? nameRegion ?? Stack.of(this).region;
    this.availabilityZoneIds =
      attrs.availabilityZoneIds === undefined
        ? undefined
        : AvailabilityZoneIds.parse(attrs.availabilityZoneIds, 'availabilityZoneIds');
  }
}
