import http from 'node:http';
import net from 'node:net';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

// HTTP on a raw socket, so that "bytes on the wire" means every byte the
// server sent: status line, headers, framing and body.

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  /** Every byte received for this response. */
  wireBytes: number;
  headerBytes: number;
  /** The body as sent (compressed when it was). */
  rawBody: Buffer;
  /** The body decompressed, as text. */
  text: string;
}

/** Headers a browser's htmx poll or navigation sends besides the ones given. */
export const BROWSER_HEADERS: Record<string, string> = {
  'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'Accept-Encoding': 'gzip, deflate, br, zstd',
  'Accept-Language': 'en-US,en;q=0.9',
};

function decode(body: Buffer, encoding: string | undefined): string {
  if (!body.length) return '';
  if (encoding === 'br') return brotliDecompressSync(body).toString('utf8');
  if (encoding === 'gzip') return gunzipSync(body).toString('utf8');
  if (encoding === 'deflate') return inflateSync(body).toString('utf8');
  return body.toString('utf8');
}

/** Parses one response from the buffer; undefined while incomplete. */
function parse(buf: Buffer, method: string): WireResponse | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(head[0].split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const bodyStart = end + 4;
  const done = (bodyEnd: number, body: Buffer): WireResponse => ({
    status,
    headers,
    wireBytes: bodyEnd,
    headerBytes: bodyStart,
    rawBody: body,
    text: decode(body, headers['content-encoding']),
  });
  if (method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)) return done(bodyStart, Buffer.alloc(0));
  if (headers['content-length'] !== undefined) {
    const len = Number(headers['content-length']);
    if (buf.length < bodyStart + len) return undefined;
    return done(bodyStart + len, buf.subarray(bodyStart, bodyStart + len));
  }
  if ((headers['transfer-encoding'] ?? '').includes('chunked')) {
    const parts: Buffer[] = [];
    let p = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', p);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.subarray(p, lineEnd).toString('latin1'), 16);
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd);
        if (trailerEnd < 0) return undefined;
        return done(trailerEnd + 4, Buffer.concat(parts));
      }
      if (buf.length < lineEnd + 2 + size + 2) return undefined;
      parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
      p = lineEnd + 2 + size + 2;
    }
  }
  return undefined; // read until close
}

/** One request on a fresh keep-alive socket; counts the bytes of the response. */
export function wireRequest(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<WireResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname);
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (r: WireResponse | undefined, err?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (r) resolve(r);
      else reject(err ?? new Error('connection closed before a whole response'));
    };
    socket.setTimeout(30_000, () => finish(undefined, new Error(`timeout: ${method} ${path}`)));
    socket.on('error', (e) => finish(undefined, e));
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const r = parse(buf, method);
      if (r) finish(r);
    });
    socket.on('end', () => {
      const r = parse(buf, method);
      if (r) return finish(r);
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = parse(Buffer.concat([buf.subarray(0, end), Buffer.from('\r\ncontent-length: 0\r\n\r\n')]), 'HEAD');
        if (head) return finish({ ...head, wireBytes: buf.length, rawBody: buf.subarray(end + 4), text: decode(buf.subarray(end + 4), head.headers['content-encoding']) });
      }
      finish(undefined);
    });
    const all: Record<string, string> = { Host: url.host, Connection: 'keep-alive', ...headers };
    if (body !== undefined) all['Content-Length'] = String(Buffer.byteLength(body));
    const lines = [`${method} ${path} HTTP/1.1`, ...Object.entries(all).map(([k, v]) => `${k}: ${v}`), '', ''];
    socket.write(lines.join('\r\n') + (body ?? ''));
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** A request on a shared keep-alive connection: status, headers, body length, and the time to the last byte (ms). */
export function timedRequest(base: string, path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number; ms: number; bytes: number; headers: http.IncomingHttpHeaders; text: string }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, ms, bytes: raw.length, headers: res.headers, text: decode(raw, res.headers['content-encoding'] as string | undefined) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
