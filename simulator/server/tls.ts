// The dev server's TLS material: a CA and a localhost/127.0.0.1 server certificate (ECDSA P-256),
// made on first start with the openssl CLI and kept in DATA, so a device or the official client can
// trust DATA/ca.pem across restarts. openssl rather than @peculiar/x509: x509 2.x needs a
// reflect-metadata polyfill we do not ship, and openssl is on every machine that runs Mender tools.
// The CA key is deleted once the server certificate is signed: nothing else is ever issued.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileDurably } from './durable-file.ts';

export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const VALID_DAYS = '3650';

/** Loads DATA/ca.pem, DATA/server-cert.pem and DATA/server-key.pem, creating them when absent. */
export function loadOrCreateTls(dataDir: string): TlsMaterial {
  const paths = { ca: join(dataDir, 'ca.pem'), cert: join(dataDir, 'server-cert.pem'), key: join(dataDir, 'server-key.pem') };
  if (existsSync(paths.ca) && existsSync(paths.cert) && existsSync(paths.key)) {
    return { caPem: readFileSync(paths.ca, 'utf8'), certPem: readFileSync(paths.cert, 'utf8'), keyPem: readFileSync(paths.key, 'utf8') };
  }
  const material = createTls();
  // ca.pem last: a half-written set is recognised by its absence and made again.
  writeFileDurably(paths.key, material.keyPem, 0o600);
  writeFileDurably(paths.cert, material.certPem);
  writeFileDurably(paths.ca, material.caPem);
  return material;
}

export function createTls(): TlsMaterial {
  const dir = mkdtempSync(join(tmpdir(), 'ota-mcu-tls-'));
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => {
    try {
      execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`openssl ${args[0]} failed: ${stderr || (error as Error).message}`);
    }
  };
  try {
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path('ca-key.pem'));
    openssl('req', '-x509', '-new', '-key', path('ca-key.pem'), '-sha256', '-days', VALID_DAYS, '-subj', '/CN=ota-mcu dev server CA',
      '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', path('ca.pem'));
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path('server-key.pem'));
    openssl('req', '-new', '-key', path('server-key.pem'), '-subj', '/CN=localhost', '-out', path('server.csr'));
    writeFileSync(path('ext.cnf'), [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      'authorityKeyIdentifier=keyid',
    ].join('\n') + '\n');
    openssl('x509', '-req', '-in', path('server.csr'), '-CA', path('ca.pem'), '-CAkey', path('ca-key.pem'), '-set_serial',
      `0x${Date.now().toString(16)}`, '-days', VALID_DAYS, '-sha256', '-extfile', path('ext.cnf'), '-out', path('server-cert.pem'));
    return {
      caPem: readFileSync(path('ca.pem'), 'utf8'),
      certPem: readFileSync(path('server-cert.pem'), 'utf8'),
      keyPem: readFileSync(path('server-key.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
