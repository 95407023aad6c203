import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { ClientSettings } from '../src';

const URL = 'http://proxy.egress.internal:3128';

test('the environment sets both spellings of HTTPS_PROXY, HTTP_PROXY and NO_PROXY', () => {
  const env = ClientSettings.forProxyUrl(URL).environment();
  expect(env).toEqual({
    HTTPS_PROXY: URL,
    HTTP_PROXY: URL,
    https_proxy: URL,
    http_proxy: URL,
    NO_PROXY: '169.254.169.254,fd00:ec2::254,169.254.170.2,169.254.170.23,fd00:ec2::23,localhost,127.0.0.1',
    no_proxy: '169.254.169.254,fd00:ec2::254,169.254.170.2,169.254.170.23,fd00:ec2::23,localhost,127.0.0.1',
  });
});

test('NO_PROXY keeps instance metadata, ECS and EKS credentials off the proxy, plus extra hosts', () => {
  const s = ClientSettings.forProxyUrl(URL, { noProxy: ['internal.example.com'] });
  expect(s.noProxy).toEqual(
    expect.arrayContaining([
      '169.254.169.254',
      'fd00:ec2::254',
      '169.254.170.2',
      '169.254.170.23',
      'fd00:ec2::23',
      'internal.example.com',
    ]),
  );
});

test('a CIDR in noProxy is rejected because botocore does not support CIDRs', () => {
  expect(() => ClientSettings.forProxyUrl(URL, { noProxy: ['10.0.0.0/8'] })).toThrow(
    /Invalid noProxy entry '10\.0\.0\.0\/8'.*no CIDRs/,
  );
});

test('the export line sets every variable', () => {
  expect(ClientSettings.forProxyUrl(URL).exportCommand()).toBe(
    `export HTTPS_PROXY=${URL} HTTP_PROXY=${URL} NO_PROXY=169.254.169.254,fd00:ec2::254,169.254.170.2,169.254.170.23,fd00:ec2::23,localhost,127.0.0.1 ` +
      `https_proxy=${URL} http_proxy=${URL} no_proxy=169.254.169.254,fd00:ec2::254,169.254.170.2,169.254.170.23,fd00:ec2::23,localhost,127.0.0.1`,
  );
});

test('user data sets the proxy for login shells and for systemd services, and restarts the SSM agent', () => {
  const ud = ec2.UserData.forLinux();
  ClientSettings.forProxyUrl(URL).applyToUserData(ud);
  const script = ud.render();
  expect(script).toContain("cat > /etc/profile.d/egress-proxy.sh <<'EGRESS_PROXY_EOF'");
  expect(script).toContain(`export HTTPS_PROXY=${URL}`);
  expect(script).toContain('cat > /etc/systemd/system.conf.d/egress-proxy.conf');
  expect(script).toMatch(/DefaultEnvironment="HTTPS_PROXY=http:\/\/proxy\.egress\.internal:3128" "HTTP_PROXY=/);
  expect(script).toContain('systemctl daemon-reexec');
  expect(script).toContain('systemctl try-restart amazon-ssm-agent');
});

test('a container definition gets the environment', () => {
  const stack = new Stack(new App(), 'S');
  const task = new ecs.FargateTaskDefinition(stack, 'T');
  const c = task.addContainer('app', {
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/amazonlinux/amazonlinux:2023'),
  });
  ClientSettings.forProxyUrl(URL).applyToContainer(c);
  const env = Template.fromStack(stack).findResources('AWS::ECS::TaskDefinition');
  const vars = Object.values(env)[0].Properties.ContainerDefinitions[0].Environment;
  expect(vars).toEqual(
    expect.arrayContaining([
      { Name: 'HTTPS_PROXY', Value: URL },
      { Name: 'no_proxy', Value: expect.stringContaining('169.254.169.254') },
    ]),
  );
});
