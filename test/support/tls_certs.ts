import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that did not sign anything here. */
  otherCa: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

/** A throwaway CA, a server certificate for localhost / 127.0.0.1, a client certificate, and an unrelated CA. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'tiercache-pki-'));
  const p = (f: string) => join(dir, f);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=tiercache test CA', '-keyout', 'ca.key', '-out', 'ca.crt'], dir);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=someone else', '-keyout', 'other.key', '-out', 'other.crt'], dir);
  writeFileSync(p('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  for (const who of ['server', 'client']) {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${who === 'server' ? 'localhost' : 'tiercache client'}`, '-keyout', `${who}.key`, '-out', `${who}.csr`], dir);
    openssl(['x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${who}.crt`, ...(who === 'server' ? ['-extfile', 'server.ext'] : [])], dir);
  }
  return { dir, ca: p('ca.crt'), serverCert: p('server.crt'), serverKey: p('server.key'), clientCert: p('client.crt'), clientKey: p('client.key'), otherCa: p('other.crt') };
}
