/**
 * Canonical JSON for hashing ledger events: RFC 8785 (JSON Canonicalization Scheme) through the
 * `canonicalize` package.
 *
 * Why RFC 8785: object keys are sorted by UTF-16 code units and numbers are written with
 * ECMAScript's shortest round-trip form, so the same event always gives the same bytes in any
 * JCS implementation (Go, Java, Python have one), and an auditor can recompute a hash without
 * our code. Values JSON cannot represent exactly are refused before hashing rather than
 * silently changed: NaN, Infinity, -0 (JSON writes it as 0), undefined inside arrays, functions,
 * symbols, bigints, Dates (callers pass ISO strings) and lone UTF-16 surrogates.
 */
import { createHash } from 'node:crypto';
import canonicalizeImport from 'canonicalize';

type Canonicalize = (input: unknown) => string | undefined;
// The package is CommonJS with an ESM-style .d.ts: Node and esbuild hand us the function itself,
// while the types describe a namespace holding `default`. Accept both shapes.
const imported = canonicalizeImport as unknown as Canonicalize | { default: Canonicalize };
const canonicalize: Canonicalize = typeof imported === 'function' ? imported : imported.default;

/** Thrown when a value cannot be written as canonical JSON without changing its meaning. */
export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function check(value: unknown, path: string): void {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CanonicalJsonError(`${path}: ${value} has no JSON form`);
    if (Object.is(value, -0)) throw new CanonicalJsonError(`${path}: -0 would be written as 0`);
    return;
  }
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) throw new CanonicalJsonError(`${path}: string has a lone surrogate`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      if (v === undefined) throw new CanonicalJsonError(`${path}[${i}]: undefined would be written as null`);
      check(v, `${path}[${i}]`);
    });
    return;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new CanonicalJsonError(
        `${path}: only plain objects are allowed, got ${proto?.constructor?.name}`,
      );
    }
    for (const [k, v] of Object.entries(value)) {
      if (LONE_SURROGATE.test(k)) throw new CanonicalJsonError(`${path}: key has a lone surrogate`);
      // An undefined property is simply absent in JSON, which is what an optional field means.
      if (v !== undefined) check(v, `${path}.${k}`);
    }
    return;
  }
  throw new CanonicalJsonError(`${path}: ${typeof value} has no JSON form`);
}

/** Serializes `value` as RFC 8785 canonical JSON, refusing values JSON cannot carry exactly. */
export function canonicalJson(value: unknown): string {
  check(value, '$');
  const out = canonicalize(value);
  if (out === undefined) throw new CanonicalJsonError('$: value has no JSON form');
  return out;
}

/** Lower-case hex SHA-256 of a UTF-8 string. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The previous hash of the first event of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** The chain link: `sha256(prevHash + canonical(event))`, hex. */
export function linkHash(prevHash: string, canonicalEvent: string): string {
  return sha256Hex(prevHash + canonicalEvent);
}
