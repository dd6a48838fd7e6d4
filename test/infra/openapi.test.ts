import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { App } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../infra/api/openapi.ts';
import { buildApp } from '../../infra/build-app.ts';
import { loadStage } from '../../infra/config/stage.ts';
import { loadUseCases } from '../../infra/config/use-cases.ts';
import type { UseCase } from '../../shared/config/use-case.ts';
import { SKIP_BUNDLING } from './helpers.ts';

let useCases: UseCase[];
let doc: {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>>;
};
let routes: readonly string[];

beforeAll(async () => {
  useCases = await loadUseCases();
  doc = buildOpenApiDocument(useCases) as typeof doc;
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'openapi-')),
    context: { '@aws-cdk/core:failSynthOnValidationErrors': false, ...SKIP_BUNDLING },
  });
  const { service } = buildApp(app, { stage: loadStage('prod'), region: 'us-east-1', useCases });
  // Every method of the one REST API, whatever its integration (Lambda proxy or AWS service).
  routes = service.api.methods.map((m) => `${m.httpMethod} ${m.resource.path}`);
});

describe('the OpenAPI document', () => {
  it('describes exactly the routes the synthesized API serves', () => {
    const deployed = [...routes].sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(deployed);
  });

  it("validates request bodies with the handlers' own schemas", () => {
    const ajv = new Ajv({ strict: false });
    addFormats.default(ajv);
    const put =
      doc.paths['/features/{group}/{entityId}']?.put?.requestBody?.content['application/json']?.schema;
    const validate = ajv.compile(put as object);
    expect(validate({ eventTime: '2026-01-01T00:00:00Z', values: { delayRate2h: 0.2, flights2h: 3 } })).toBe(
      true,
    );
    expect(validate({ eventTime: '2026-01-01T00:00:00Z', values: { delayRate2h: 1.5, flights2h: 3 } })).toBe(
      false,
    );
    expect(
      validate({ eventTime: '2026-01-01T00:00:00Z', values: { delayRate2h: 0.2, flights2h: 3, extra: 1 } }),
    ).toBe(false);
    const approval =
      doc.paths['/training/runs/{runId}/approval']?.post?.requestBody?.content['application/json']?.schema;
    const validateApproval = ajv.compile(approval as object);
    expect(validateApproval({ decision: 'approved', reason: 'ok' })).toBe(true);
    expect(validateApproval({ decision: 'maybe', reason: 'ok' })).toBe(false);
  });
});
