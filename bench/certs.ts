import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Throw-away certificates for the benchmark upstream and Squid's ssl-bump port. */
export interface BenchCertificates {
  readonly caFile: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Self-signed PEM (certificate + key) for the rendered config's ssl-bump port; never presented. */
  readonly bumpFile: string;
}

/**
 * A CA and a server certificate with ECDSA P-256 keys: the upstream's handshakes then cost
 * little CPU, which matters because upstream, proxy and load generator share the machine's cores.
 */
export function makeBenchCertificates(dir: string, names: string[]): BenchCertificates {
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=pep bench CA');
  ossl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=pep bench upstream');
  writeFileSync(
    join(dir, 'ext.cnf'),
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
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
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    bumpFile,
  };
}
