import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';

/**
 * Options for {@link ClientSettings.forProxyUrl}.
 */
export interface ClientSettingsOptions {
  /**
   * Extra hosts that bypass the proxy (host names or addresses; botocore does not support CIDRs).
   * @default - only the metadata and credential addresses in `ClientSettings.DEFAULT_NO_PROXY`
   */
  readonly noProxy?: string[];
}

/**
 * The client side of the proxy: environment variables for the AWS CLI v2 and SDKs.
 *
 * The AWS CLI v2 reads only `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (lower case wins); it
 * has no `cli_http_proxy` setting. Both spellings are set. `NO_PROXY` keeps instance metadata
 * and container credentials off the proxy (the proxy refuses them anyway).
 */
export class ClientSettings {
  /**
   * Hosts that never go through the proxy: instance metadata (IPv4 and IPv6), ECS task
   * credentials, EKS Pod Identity (IPv4 and IPv6), and the local host.
   */
  public static readonly DEFAULT_NO_PROXY: string[] = [
    '169.254.169.254',
    'fd00:ec2::254',
    '169.254.170.2',
    '169.254.170.23',
    'fd00:ec2::23',
    'localhost',
    '127.0.0.1',
  ];

  /** Settings for a proxy URL such as `http://proxy.egress.internal:3128`. */
  public static forProxyUrl(proxyUrl: string, options: ClientSettingsOptions = {}): ClientSettings {
    return new ClientSettings(proxyUrl, [...ClientSettings.DEFAULT_NO_PROXY, ...(options.noProxy ?? [])]);
  }

  private constructor(
    /** The proxy URL. */
    public readonly proxyUrl: string,
    /** Hosts that bypass the proxy. */
    public readonly noProxy: string[],
  ) {
    for (const h of noProxy) {
      if (/[\s,]/.test(h) || h.includes('/')) {
        throw new Error(
          `Invalid noProxy entry '${h}': one host name or address per entry, no CIDRs (botocore does not support them)`,
        );
      }
    }
  }

  /**
   * `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY` and their lower-case forms.
   */
  public environment(): { [name: string]: string } {
    const noProxy = this.noProxy.join(',');
    return {
      HTTPS_PROXY: this.proxyUrl,
      HTTP_PROXY: this.proxyUrl,
      NO_PROXY: noProxy,
      https_proxy: this.proxyUrl,
      http_proxy: this.proxyUrl,
      no_proxy: noProxy,
    };
  }

  /** A shell line that sets the environment: `export HTTPS_PROXY=… HTTP_PROXY=… …`. */
  public exportCommand(): string {
    const env = this.environment();
    return (
      'export ' +
      Object.keys(env)
        .map((k) => `${k}=${env[k]}`)
        .join(' ')
    );
  }

  /**
   * Add commands to Linux user data that set the environment for login shells
   * (`/etc/profile.d/egress-proxy.sh`) and for systemd services (`DefaultEnvironment`), then
   * restart the SSM agent so Session Manager uses the proxy too.
   */
  public applyToUserData(userData: ec2.UserData): void {
    const env = this.environment();
    const names = Object.keys(env);
    userData.addCommands(
      "cat > /etc/profile.d/egress-proxy.sh <<'EGRESS_PROXY_EOF'",
      ...names.map((k) => `export ${k}=${env[k]}`),
      'EGRESS_PROXY_EOF',
      'mkdir -p /etc/systemd/system.conf.d',
      "cat > /etc/systemd/system.conf.d/egress-proxy.conf <<'EGRESS_PROXY_EOF'",
      '[Manager]',
      'DefaultEnvironment=' + names.map((k) => `"${k}=${env[k]}"`).join(' '),
      'EGRESS_PROXY_EOF',
      'systemctl daemon-reexec || true',
      'systemctl try-restart amazon-ssm-agent || true',
    );
  }

  /** Set the environment on an ECS container definition. */
  public applyToContainer(container: ecs.ContainerDefinition): void {
    const env = this.environment();
    for (const k of Object.keys(env)) container.addEnvironment(k, env[k]);
  }
}
