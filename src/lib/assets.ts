import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { projectRoot } from './paths.js';

export interface Asset {
  url: string;
  type: string;
  body: Buffer;
  gzip: Buffer;
  br: Buffer;
}

export interface Assets {
  /** Logical name ("app.css") → URL with a content hash, immutable. */
  url(name: string): string;
  /** Asset by its hashed file name, for the static route. */
  byFile(file: string): Asset | undefined;
}

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** Reads and pre-compresses the static files once at start; names carry a content hash. */
export function loadAssets(): Assets {
  const sources: Record<string, string> = {
    'htmx.js': path.join(projectRoot, 'node_modules/htmx.org/dist/htmx.min.js'),
  };
  const publicDir = path.join(projectRoot, 'public');
  for (const f of fs.readdirSync(publicDir)) {
    if (TYPES[path.extname(f)]) sources[f] = path.join(publicDir, f);
  }
  const byName = new Map<string, Asset>();
  const byFile = new Map<string, Asset>();
  for (const [name, file] of Object.entries(sources)) {
    const body = fs.readFileSync(file);
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
    const ext = path.extname(name);
    const hashed = `${path.basename(name, ext)}.${hash}${ext}`;
    const asset: Asset = { url: `/assets/${hashed}`, type: TYPES[ext], body, gzip: gzipSync(body, { level: 9 }), br: brotliCompressSync(body) };
    byName.set(name, asset);
    byFile.set(hashed, asset);
  }
  return {
    url(name) {
      const a = byName.get(name);
      if (!a) throw new Error(`unknown asset ${name}`);
      return a.url;
    },
    byFile: (file) => byFile.get(file),
  };
}
