import { describe, expect, it } from 'vitest';
import { proxyResponse } from '../../../infra/local/apigateway.ts';

describe('the REST API (payload 1.0) proxy response', () => {
  it('passes a well-formed response through', () => {
    const response = proxyResponse({ statusCode: 201, body: '{"ok":true}' }, '1.0');
    expect(response?.status).toBe(201);
    expect(response?.body.toString()).toBe('{"ok":true}');
  });

  it.each([
    ['a body that is an object', { statusCode: 200, body: { ok: true } }],
    ['a body that is a number', { statusCode: 200, body: 42 }],
    ['a fractional status code', { statusCode: 200.5, body: '' }],
    ['a status code as a string', { statusCode: '200', body: '' }],
  ])('treats %s as malformed (a 502 on AWS)', (_, result) => {
    expect(proxyResponse(result, '1.0')).toBeUndefined();
  });

  it('accepts a response without a body', () => {
    expect(proxyResponse({ statusCode: 204 }, '1.0')?.status).toBe(204);
  });
});
