import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { HubError } from '../core/errors.js';

/** The hub's own CA and server certificate under <dataDir>/tls. */
export interface HubCertificates {
  dir: string;
  caPath: string;
  ca: string;
  cert: string;
  key: string;
  /** SHA-256 fingerprint of the CA certificate, as `openssl x509 -fingerprint -sha256` prints it. */
  caFingerprint: string;
}

const YEAR_MS = 365 * 86_400_000;

/** Writes a file whole or not at all (a crash mid-write leaves the old one or none). */
function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

/**
 * The CA and server certificate a TLS listener without cert/key uses. Made on the first
 * start (a CA valid 10 years, a server certificate of 2 years naming localhost,
 * 127.0.0.1, ::1 and this host's name, both SHA-256 with P-256 keys) and kept: devices
 * trust ca.crt once. ca.key stays beside them (mode 0600) to sign client certificates.
 */
export async function hubCertificates(dataDir: string): Promise<HubCertificates & { created: boolean }> {
  const dir = join(dataDir, 'tls');
  const paths = {
    ca: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    cert: join(dir, 'server.crt'),
    key: join(dir, 'server.key'),
  };
  let created = false;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!existsSync(paths.ca) || !existsSync(paths.caKey)) {
      const now = new Date();
      const ca = await generate([{ name: 'commonName', value: `sensor-hub CA (${hostname()})` }], {
        keyType: 'ec',
        curve: 'P-256',
        algorithm: 'sha256',
        notBeforeDate: now,
        notAfterDate: new Date(now.getTime() + 10 * YEAR_MS),
        extensions: [
          { name: 'basicConstraints', cA: true, critical: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
        ],
      });
      writeAtomic(paths.caKey, ca.private, 0o600);
      writeAtomic(paths.ca, ca.cert, 0o644);
      // A new CA: the old server certificate is not signed by it.
      if (existsSync(paths.cert)) writeAtomic(paths.cert, '', 0o644);
      created = true;
    }
    const ca = readFileSync(paths.ca, 'utf8');
    const caKey = readFileSync(paths.caKey, 'utf8');
    if (!existsSync(paths.cert) || !existsSync(paths.key) || readFileSync(paths.cert, 'utf8') === '') {
      const now = new Date();
      const server = await generate([{ name: 'commonName', value: hostname() }], {
        keyType: 'ec',
        curve: 'P-256',
        algorithm: 'sha256',
        notBeforeDate: now,
        notAfterDate: new Date(now.getTime() + 2 * YEAR_MS),
        ca: { key: caKey, cert: ca },
        extensions: [
          { name: 'basicConstraints', cA: false, critical: true },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
          { name: 'extKeyUsage', serverAuth: true },
          {
            name: 'subjectAltName',
            altNames: [
              { type: 2, value: 'localhost' },
              { type: 2, value: hostname() },
              { type: 7, ip: '127.0.0.1' },
              { type: 7, ip: '::1' },
            ],
          },
        ],
      });
      writeAtomic(paths.key, server.private, 0o600);
      writeAtomic(paths.cert, server.cert, 0o644);
      created = true;
    }
    return {
      dir,
      caPath: paths.ca,
      ca,
      cert: readFileSync(paths.cert, 'utf8'),
      key: readFileSync(paths.key, 'utf8'),
      caFingerprint: new X509Certificate(ca).fingerprint256,
      created,
    };
  } catch (err) {
    if (err instanceof HubError) throw err;
    throw new HubError(
      'HUB_TLS_FILES',
      `the hub's certificates in ${dir} cannot be made or read: ${(err as Error).message}`,
    );
  }
}

/** Reads a certificate, key or CA file named in the config. */
export function readTlsFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new HubError(
      'HUB_TLS_FILES',
      `${what} ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** Signs a client certificate with the hub's CA (tests and `docs/security.md`'s openssl steps do the same). */
export async function clientCertificate(
  dataDir: string,
  commonName: string,
): Promise<{ cert: string; key: string }> {
  const dir = join(dataDir, 'tls');
  const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
  const caKey = readFileSync(join(dir, 'ca.key'), 'utf8');
  const now = new Date();
  const c = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + 2 * YEAR_MS),
    ca: { key: caKey, cert: ca },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
  });
  return { cert: c.cert, key: c.private };
}
