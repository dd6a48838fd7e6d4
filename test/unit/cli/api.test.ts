import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import {
  buildApiRequest,
  chooseApiEndpoint,
  NodeSha256,
  parseRawQuery,
  regionOfApiHost,
  signApiRequest,
  signingRegionFor,
} from '../../../infra/cli/api.ts';
import { UsageError } from '../../../infra/cli/errors.ts';
import type { LocalEndpoints } from '../../../infra/local/model.ts';
import { sigV4Signature } from '../../../infra/local/sigv4.ts';

const LOCAL_URL = 'http://127.0.0.1:4010/v1';
const AWS_URL = 'https://a1b2c3d4e5.execute-api.eu-west-3.amazonaws.com/v1';
const unused = 'http://127.0.0.1:9';
const endpoints: LocalEndpoints = {
  dynamodb: unused,
  s3: unused,
  lambda: unused,
  stepfunctions: unused,
  sagemaker: unused,
  sagemakerRuntime: unused,
  sns: unused,
  kms: unused,
  cloudwatch: unused,
  autoscaling: unused,
  firehose: unused,
};
/** What `resolveTarget()` gives while a local cloud placed in eu-central-1 runs. */
const localCloud = { local: true, apiUrl: LOCAL_URL, cloud: { endpoints, region: 'eu-central-1' } };

/** The option a UsageError thrown by `act` names. */
function optionOf(act: () => unknown): string | undefined {
  try {
    act();
  } catch (e) {
    if (e instanceof UsageError) return e.option;
    throw e;
  }
  return undefined;
}

// The credentials, date and scope of AWS's published SigV4 test suite (aws-sig-v4-test-suite).
const SUITE = {
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  signingDate: new Date('2015-08-30T12:36:00Z'),
};

describe('choosing the API to call', () => {
  it('signs an execute-api --api-url for AWS even while a local cloud runs', () => {
    // Act
    const endpoint = chooseApiEndpoint(AWS_URL, localCloud);
    // Assess
    expect(endpoint).toEqual({ kind: 'aws', baseUrl: AWS_URL });
  });

  it('keeps the local credentials, and the local cloud’s region, for the local cloud’s own URL', () => {
    // Act
    const given = chooseApiEndpoint('http://127.0.0.1:4010/v1/', localCloud);
    const implied = chooseApiEndpoint(undefined, localCloud);
    // Assess
    expect(given).toEqual({ kind: 'local', baseUrl: 'http://127.0.0.1:4010/v1/', region: 'eu-central-1' });
    expect(implied).toEqual({ kind: 'local', baseUrl: LOCAL_URL, region: 'eu-central-1' });
  });

  it('signs another port of the same host for AWS: only the local cloud’s origin is local', () => {
    // Act
    const endpoint = chooseApiEndpoint('http://127.0.0.1:4011/v1', localCloud);
    // Assess
    expect(endpoint.kind).toBe('aws');
  });

  it('uses MLOPS_API_URL on AWS when no --api-url is given', () => {
    // Act
    const endpoint = chooseApiEndpoint(undefined, { local: false, apiUrl: AWS_URL });
    // Assess
    expect(endpoint).toEqual({ kind: 'aws', baseUrl: AWS_URL });
  });

  it('names --api-url when there is no API, or the URL is not one', () => {
    // Act, Assess
    expect(optionOf(() => chooseApiEndpoint(undefined, { local: false }))).toBe('--api-url');
    expect(optionOf(() => chooseApiEndpoint('execute-api/v1', localCloud))).toBe('--api-url');
  });
});

describe('the region an AWS call is signed for', () => {
  it('is the one the execute-api host names', () => {
    // Act, Assess
    expect(regionOfApiHost('a1b2c3d4e5.execute-api.eu-west-3.amazonaws.com')).toBe('eu-west-3');
    expect(regionOfApiHost('A1B2C3D4E5.EXECUTE-API.AP-SOUTHEAST-2.AMAZONAWS.COM')).toBe('ap-southeast-2');
    expect(regionOfApiHost('a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn')).toBe('cn-north-1');
    expect(regionOfApiHost('a1b2c3d4e5.execute-api-fips.us-gov-west-1.amazonaws.com')).toBe('us-gov-west-1');
    expect(
      regionOfApiHost('a1b2c3d4e5-vpce-0123456789abcdef0.execute-api.us-east-2.vpce.amazonaws.com'),
    ).toBe('us-east-2');
  });

  it('is left to the SDK for a custom domain, or a host that only looks like execute-api', () => {
    // Act, Assess
    expect(regionOfApiHost('api.example.com')).toBeUndefined();
    expect(regionOfApiHost('x.execute-api.us-east-1.amazonaws.com.example.com')).toBeUndefined();
    expect(signingRegionFor('api.example.com', undefined)).toBeUndefined();
  });

  it('is --region when given, over the host', () => {
    // Act, Assess
    expect(signingRegionFor('a1b2c3d4e5.execute-api.eu-west-3.amazonaws.com', 'eu-west-1')).toBe('eu-west-1');
    expect(signingRegionFor('api.example.com', 'us-west-2')).toBe('us-west-2');
  });

  it('names --region when it is not a region', () => {
    // Act, Assess
    expect(optionOf(() => signingRegionFor('api.example.com', 'Europe'))).toBe('--region');
  });
});

describe('the query that is signed and sent', () => {
  it('keeps every value of a repeated name, in order, and reads + as a plus', () => {
    // Act
    const query = parseRawQuery('?type=A&type=B&q=x+y&plus=%2B&space=%20&flag');
    // Assess
    expect(query).toEqual({ type: ['A', 'B'], q: 'x+y', plus: '+', space: ' ', flag: '' });
  });

  it('keeps a name like __proto__ as a parameter', () => {
    // Act
    const query = parseRawQuery('__proto__=1');
    // Assess
    expect(Object.keys(query)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(query)).toBe(Object.prototype);
  });

  it('names <path> for a bad %-escape', () => {
    // Act, Assess
    expect(optionOf(() => parseRawQuery('?q=%E0%A4%A'))).toBe('<path>');
  });

  it('sends exactly the query it signs: repeated names kept, + sent as %2B', () => {
    // Act
    const call = buildApiRequest('GET', `${AWS_URL}/audit/events?type=A&q=x+y&type=B`, undefined);
    // Assess
    expect(call.url).toBe(`${AWS_URL}/audit/events?type=A&type=B&q=x%2By`);
    expect(parseRawQuery(new URL(call.url).search)).toEqual(call.request.query);
    expect(call.request).toEqual({
      method: 'GET',
      protocol: 'https:',
      hostname: 'a1b2c3d4e5.execute-api.eu-west-3.amazonaws.com',
      path: '/v1/audit/events',
      query: { type: ['A', 'B'], q: 'x+y' },
      headers: { host: 'a1b2c3d4e5.execute-api.eu-west-3.amazonaws.com' },
    });
  });
});

describe('signing for AWS', () => {
  it('builds the request of the suite’s get-vanilla-query-order-value so that it signs as published', async () => {
    // Prepare: the suite's generic service, without the payload-hash header it does not sign.
    const signer = new SignatureV4({
      credentials: SUITE.credentials,
      region: 'us-east-1',
      service: 'service',
      sha256: NodeSha256,
      applyChecksum: false,
    });
    const { request } = buildApiRequest(
      'GET',
      'https://example.amazonaws.com/?Param1=value2&Param1=value1',
      undefined,
    );
    // Act
    const signed = await signer.sign(request, { signingDate: SUITE.signingDate });
    // Assess
    expect(signed.headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694',
    );
  });

  it('signs an execute-api GET with a repeated name and a + as both reference signers do', async () => {
    // Prepare
    const call = buildApiRequest(
      'GET',
      `${AWS_URL}/audit/models/flight%20delay?type=A&q=x+y&type=B`,
      undefined,
    );
    const region = signingRegionFor(call.request.hostname, undefined) ?? '';
    // Act
    const headers = await signApiRequest(call.request, { ...SUITE, region });
    // Assess: @smithy/signature-v4 on the request written out by hand...
    const reference = await new SignatureV4({
      credentials: SUITE.credentials,
      region: 'eu-west-3',
      service: 'execute-api',
      sha256: NodeSha256,
    }).sign(
      {
        method: 'GET',
        protocol: 'https:',
        hostname: 'a1b2c3d4e5.execute-api.eu-west-3.amazonaws.com',
        path: '/v1/audit/models/flight%20delay',
        query: { type: ['A', 'B'], q: 'x+y' },
        headers: { host: 'a1b2c3d4e5.execute-api.eu-west-3.amazonaws.com' },
      },
      { signingDate: SUITE.signingDate },
    );
    expect(headers).toEqual(reference.headers);
    const authorization = headers.authorization ?? '';
    expect(authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/eu-west-3\/execute-api\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    // ...and the signature the local gateway checks, computed from the URL actually sent.
    const sent = new URL(call.url);
    const signature = sigV4Signature({
      method: 'GET',
      path: sent.pathname,
      query: sent.searchParams,
      headers: ['host', 'x-amz-content-sha256', 'x-amz-date'].map((h) => [h, headers[h] ?? ''] as const),
      payloadHash: headers['x-amz-content-sha256'] ?? '',
      amzDate: '20150830T123600Z',
      scope: '20150830/eu-west-3/execute-api/aws4_request',
      secretAccessKey: SUITE.credentials.secretAccessKey,
    });
    expect(authorization.endsWith(`Signature=${signature}`)).toBe(true);
  });

  it('signs a JSON body with its content type', async () => {
    // Prepare
    const body = JSON.stringify({ decision: 'approve' });
    const call = buildApiRequest('POST', `${AWS_URL}/approvals`, body);
    // Act
    const headers = await signApiRequest(call.request, { ...SUITE, region: 'eu-west-3' });
    // Assess
    expect(call.request.body).toBe(body);
    expect(headers['content-type']).toBe('application/json');
    expect(headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(headers.authorization).toContain(
      'SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date',
    );
  });
});
