import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A throw-away test CA and one server certificate for every test host name. */
export interface TestCertificates {
  readonly caFile: string;
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Self-signed PEM (certificate + key) for Squid's ssl-bump port; peek and splice never present it. */
  readonly bumpFile: string;
}

/**
 * Key type of the CA and the server certificate: RSA 2048 for the tests, ECDSA P-256 for the
 * benchmark (cheaper handshakes on a machine whose cores the upstream shares with the proxy).
 */
export type KeyType = 'rsa' | 'ec';

export function makeCertificates(dir: string, names: string[], keyType: KeyType = 'rsa'): TestCertificates {
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key =
    keyType === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:2048'];
  const days = ['-days', '2'];
  ossl('req', '-x509', ...key, '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', ...days, '-subj', '/CN=pep test CA');
  ossl('req', ...key, '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=pep upstream');
  const san = names.map((n) => `DNS:${n}`).join(',');
  writeFileSync(
    join(dir, 'ext.cnf'),
    `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
  );
  ossl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    ...days,
    '-extfile',
    'ext.cnf',
  );
  ossl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'bump.key',
    '-out',
    'bump.crt',
    ...days,
    '-subj',
    '/CN=egress-proxy-bump',
  );
  const bumpFile = join(dir, 'bump.pem');
  const bump = readFileSync(join(dir, 'bump.crt'), 'utf8') + readFileSync(join(dir, 'bump.key'), 'utf8');
  writeFileSync(bumpFile, bump, { mode: 0o644 });
  return {
    caFile: join(dir, 'ca.crt'),
    ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    bumpFile,
  };
}
