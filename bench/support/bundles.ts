/**
 * What a function bundle is made of: its sizes on disk, and its bytes attributed to the packages
 * and source folders they came from, read from the bundle's own source map (the shipped bytes,
 * as esbuild's metafile `bytesInOutput` would count them, without building again).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The sizes of one bundle, in bytes. */
export interface BundleSizes {
  /** `index.js`, the minified bundle. */
  readonly js: number;
  /** `index.js.map`, or 0 without one. */
  readonly map: number;
  /** Every file of the asset folder (the bundle, its map and any extras copied next to it). */
  readonly asset: number;
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += folderBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

export function bundleSizes(codeDir: string): BundleSizes {
  const size = (file: string) => {
    try {
      return statSync(join(codeDir, file)).size;
    } catch {
      return 0;
    }
  };
  return { js: size('index.js'), map: size('index.js.map'), asset: folderBytes(codeDir) };
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i++) DIGIT[BASE64.charCodeAt(i)] = i;

/**
 * Each generated line's segments as `[column, source]` pairs (source -1 for a segment that maps
 * nowhere), decoded from a source map's base64 VLQ `mappings`.
 */
export function decodeMappings(mappings: string): [number, number][][] {
  const lines: [number, number][][] = [[]];
  let column = 0;
  let source = 0;
  let fields: number[] = [];
  let value = 0;
  let shift = 0;
  const endSegment = () => {
    if (fields.length === 0) return;
    column += fields[0] ?? 0;
    if (fields.length > 1) source += fields[1] ?? 0;
    lines[lines.length - 1]?.push([column, fields.length > 1 ? source : -1]);
    fields = [];
  };
  for (let i = 0; i < mappings.length; i++) {
    const c = mappings.charCodeAt(i);
    if (c === 59 /* ; */) {
      endSegment();
      lines.push([]);
      column = 0;
    } else if (c === 44 /* , */) {
      endSegment();
    } else {
      const digit = DIGIT[c] ?? -1;
      if (digit < 0)
        throw new Error(`source map mappings: bad character ${JSON.stringify(mappings[i])} at ${i}`);
      value += (digit & 31) * 2 ** shift;
      if (digit & 32) {
        shift += 5;
      } else {
        fields.push(value % 2 === 1 ? -(value - 1) / 2 : value / 2);
        value = 0;
        shift = 0;
      }
    }
  }
  endSegment();
  return lines;
}

/** Bytes not mapped to any source: esbuild's module wrappers and helpers, the banner. */
export const UNMAPPED = '(esbuild glue)';

/**
 * Who a source file belongs to: its npm package (a scoped package counts under its scope, so
 * @stdlib's hundred small packages add up), or our top-level folder (`shared/`, `functions/`).
 */
export function ownerOf(source: string): string {
  const at = source.lastIndexOf('node_modules/');
  if (at >= 0) {
    const name = source.slice(at + 'node_modules/'.length).split('/');
    return name[0] ?? source;
  }
  const parts = source.split('/').filter((p) => p !== '..' && p !== '.' && p !== '');
  return parts.length > 1 ? `${parts[0]}/` : (parts[0] ?? source);
}

/**
 * Where inside its owner a source sits: two folders down in a package (`v4/locales` in zod), the
 * package in a scope (`logger` in @aws-lambda-powertools), one folder down in ours.
 */
function partOf(source: string, owner: string): string {
  const name = owner.replace(/\/$/, '');
  const at = source.lastIndexOf(`${name}/`);
  const inside = at < 0 ? [] : source.slice(at + name.length + 1).split('/');
  const depth = owner.startsWith('@') || owner.endsWith('/') ? 1 : 2;
  return inside.length > depth ? inside.slice(0, depth).join('/') : inside.join('/');
}

/** An owner's share of a bundle, and the part of it that weighs most. */
export interface BundleOwner {
  readonly owner: string;
  readonly bytes: number;
  readonly largestPart: { readonly path: string; readonly bytes: number };
}

/** A bundle's bytes per owner ({@link ownerOf}), largest first; they add up to the bundle's size. */
export function bundleOwners(codeDir: string): BundleOwner[] {
  const code = readFileSync(join(codeDir, 'index.js'), 'utf8');
  const map = JSON.parse(readFileSync(join(codeDir, 'index.js.map'), 'utf8')) as {
    sources: string[];
    mappings: string;
  };
  const owners = map.sources.map(ownerOf);
  const parts = map.sources.map((source, i) => `${owners[i]}\0${partOf(source, owners[i] ?? '')}`);
  const bytes = new Map<string, number>();
  const partBytes = new Map<string, number>();
  const add = (owner: string, n: number, part = `${owner}\0`) => {
    bytes.set(owner, (bytes.get(owner) ?? 0) + n);
    partBytes.set(part, (partBytes.get(part) ?? 0) + n);
  };
  const segments = decodeMappings(map.mappings);
  const lines = code.split('\n');
  for (let l = 0; l < lines.length; l++) {
    const line = lines[l] ?? '';
    // Columns count UTF-16 units; an ASCII line's units are its bytes.
    const ascii = Buffer.byteLength(line) === line.length;
    const width = (from: number, to: number) => (ascii ? to - from : Buffer.byteLength(line.slice(from, to)));
    const row = segments[l] ?? [];
    add(
      UNMAPPED,
      width(0, Math.min(row[0]?.[0] ?? line.length, line.length)) + (l < lines.length - 1 ? 1 : 0),
    );
    for (let s = 0; s < row.length; s++) {
      const [from, source] = row[s] ?? [0, -1];
      const to = Math.min(row[s + 1]?.[0] ?? line.length, line.length);
      if (to <= from) continue;
      const owner = source < 0 ? undefined : owners[source];
      if (owner === undefined) add(UNMAPPED, width(from, to));
      else add(owner, width(from, to), parts[source]);
    }
  }
  const largest = new Map<string, { path: string; bytes: number }>();
  for (const [key, n] of partBytes) {
    const [owner = '', path = ''] = key.split('\0');
    if (n > (largest.get(owner)?.bytes ?? -1)) largest.set(owner, { path, bytes: n });
  }
  return [...bytes]
    .map(([owner, n]) => ({ owner, bytes: n, largestPart: largest.get(owner) ?? { path: '', bytes: n } }))
    .sort((a, b) => b.bytes - a.bytes);
}
