import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

export interface TlsClient {
  ca?: string;
  cert?: string;
  key?: string;
  /** Health endpoints of self-signed components (controller-manager, scheduler) on loopback. */
  insecure?: boolean;
}

/** GET a URL and return status and body; a connection error rejects. */
export async function get(
  url: string,
  tls: TlsClient = {},
  timeoutMs = 2_000,
): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  const options: https.RequestOptions = { method: 'GET', timeout: timeoutMs };
  if (target.protocol === 'https:') {
    if (tls.ca) options.ca = fs.readFileSync(tls.ca);
    if (tls.cert) options.cert = fs.readFileSync(tls.cert);
    if (tls.key) options.key = fs.readFileSync(tls.key);
    options.rejectUnauthorized = !tls.insecure;
  }
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(target, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** True when GET url answers 200. */
export async function ok(url: string, tls: TlsClient = {}): Promise<boolean> {
  return (await get(url, tls)).status === 200;
}
