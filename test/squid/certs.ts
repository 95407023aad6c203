import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A throw-away test CA and one server certificate for every test host name. */
export interface TestCertificates {
  readonly caFile: string;
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Self-signed PEM (certificate + key) for Squid's ssl-bump port. */
  readonly bumpFile: string;
}

export function makeCertificates(dir: string, names: string[]): TestCertificates {
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ossl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=pep test CA',
  );
  ossl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=pep upstream',
  );
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
    '-days',
    '2',
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
    '-days',
    '2',
    '-subj',
    '/CN=egress-proxy-bump',
  );
  const bumpFile = join(dir, 'bump.pem');
  writeFileSync(bumpFile, readFileSync(join(dir, 'bump.crt'), 'utf8') + readFileSync(join(dir, 'bump.key'), 'utf8'), {
    mode: 0o644,
  });
  return {
    caFile: join(dir, 'ca.crt'),
    ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    bumpFile,
  };
}
