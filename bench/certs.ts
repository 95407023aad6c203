import { makeCertificates, TestCertificates } from '../test/squid/certs';

/**
 * The test harness's certificates with ECDSA P-256 keys: the upstream's handshakes then cost
 * little CPU, which matters because upstream, proxy and load generator share the machine's cores.
 */
export function makeBenchCertificates(dir: string, names: string[]): TestCertificates {
  return makeCertificates(dir, names, 'ec');
}
