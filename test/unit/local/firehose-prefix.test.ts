import { describe, expect, it } from 'vitest';
import { compilePrefix } from '../../../infra/local/firehose.ts';

/** 2024-01-02T03:04:05.006Z: every field differs, so a swapped token shows. */
const AT = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6));

describe('compilePrefix', () => {
  it('evaluates timestamp expressions in UTC at the given instant', () => {
    // Prepare
    const prefix = compilePrefix(
      'predictions/flight-delay/date=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/',
      'Prefix',
      'orders',
    );

    // Act / Assess
    expect(prefix(AT)).toBe('predictions/flight-delay/date=2024-01-02/hour=03/');
  });

  it('reads the Java pattern letters, quoted literals and escaped quotes', () => {
    // Prepare
    const prefix = compilePrefix("t=!{timestamp:yy'y'M.d H:m:s.SSS 'o''clock' uuuu''}/", 'Prefix', 'orders');

    // Act / Assess
    expect(prefix(AT)).toBe("t=24y1.2 3:4:5.006 o'clock 2024'/");
  });

  it("appends AWS's yyyy/MM/dd/HH/ to a prefix without a timestamp expression", () => {
    // Act / Assess
    expect(compilePrefix('', 'Prefix', 'orders')(AT)).toBe('2024/01/02/03/');
    expect(compilePrefix('raw/', 'Prefix', 'orders')(AT)).toBe('raw/2024/01/02/03/');
  });

  it('gives 11 random characters per evaluation for firehose:random-string', () => {
    // Prepare
    const prefix = compilePrefix('!{firehose:random-string}/!{timestamp:yyyy}/', 'Prefix', 'orders');

    // Act
    const [first, second] = [prefix(AT), prefix(AT)];

    // Assess
    expect(first).toMatch(/^[A-Za-z0-9]{11}\/2024\/$/);
    expect(first).not.toBe(second);
  });

  it('evaluates firehose:error-output-type in an ErrorOutputPrefix only', () => {
    // Prepare
    const template = 'errors/!{firehose:error-output-type}/date=!{timestamp:yyyy-MM-dd}/';

    // Act / Assess
    expect(compilePrefix(template, 'ErrorOutputPrefix', 'orders')(AT, 's3-failed')).toBe(
      'errors/s3-failed/date=2024-01-02/',
    );
    expect(() => compilePrefix(template, 'Prefix', 'orders')).toThrow(
      /^Firehose stream orders: Prefix .*!\{firehose:error-output-type\} is only allowed in ErrorOutputPrefix/,
    );
  });

  it('refuses namespaces and pattern letters it does not evaluate, naming the stream and the expression', () => {
    // Act / Assess
    expect(() => compilePrefix('!{partitionKeyFromQuery:customer}/', 'Prefix', 'orders')).toThrow(
      /^Firehose stream orders: Prefix .*: !\{partitionKeyFromQuery:customer\} is not evaluated by the local Firehose/,
    );
    expect(() => compilePrefix('!{timestamp:yyyy-MMM}/', 'Prefix', 'orders')).toThrow(
      /!\{timestamp:yyyy-MMM\} uses MMM, which the local Firehose does not evaluate/,
    );
    expect(() => compilePrefix("!{timestamp:'open}/", 'Prefix', 'orders')).toThrow(/unterminated quote/);
  });
});
