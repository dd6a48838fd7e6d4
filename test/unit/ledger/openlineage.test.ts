import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { canonicalJson, GENESIS_HASH, linkHash } from '../../../shared/ledger/canonical.ts';
import type { LedgerRecord } from '../../../shared/ledger/events.ts';
import { runUuid, toRunEvents } from '../../../shared/ledger/openlineage.ts';
import { edgeExportHistory, sampleHistory } from '../../support/ledger-history.ts';

const spec = JSON.parse(readFileSync('/work/shared/openlineage/OpenLineage.json', 'utf8')) as object;
const facetSchemas = JSON.parse(
  readFileSync(
    join(import.meta.dirname, '..', '..', '..', 'shared', 'ledger', 'openlineage-facets.json'),
    'utf8',
  ),
) as { $defs: Record<string, object> };

/** The sample history chained as the ledger would store it. */
function chained(events = sampleHistory()): LedgerRecord[] {
  let prevHash = GENESIS_HASH;
  return events.map((event, i) => {
    const hash = linkHash(prevHash, canonicalJson(event));
    const record = { chain: 'main', seq: i + 1, prevHash, hash, event };
    prevHash = hash;
    return record;
  });
}

// ajv-formats is CommonJS: under nodenext its default import is the module object.
const addFormats = addFormatsImport as unknown as typeof addFormatsImport.default;

function ajv() {
  // The spec declares JSON Schema draft 2020-12.
  const a = new Ajv2020({ strict: false, allErrors: true });
  addFormats(a);
  return a;
}

describe('OpenLineage export', () => {
  const events = toRunEvents(chained());

  it('emits one RunEvent per ledger event, each valid against the shipped OpenLineage schema', () => {
    const validate = ajv().compile(spec);
    expect(events).toHaveLength(22);
    for (const e of events) expect(validate(e), JSON.stringify(validate.errors)).toBe(true);
  });

  it('the schema check can fail: a facet without _schemaURL is rejected', () => {
    const validate = ajv().compile(spec);
    const [first] = events;
    const broken = {
      ...first,
      run: { runId: first?.run.runId, facets: { mlops_x: { _producer: 'urn:x' } } },
    };
    expect(validate(broken)).toBe(false);
  });

  it('gives every facet _producer and a _schemaURL that resolves to a definition in the facet schema', () => {
    const a = ajv();
    const facets = events.flatMap((e) => [
      ...Object.values(e.run.facets),
      ...[...e.inputs, ...e.outputs].flatMap((d) => Object.values(d.facets ?? {})),
    ]);
    expect(facets.length).toBeGreaterThan(40);
    for (const f of facets) {
      const name = /#\/\$defs\/(\w+)$/.exec(f._schemaURL)?.[1] ?? '';
      const schema = facetSchemas.$defs[name];
      expect(schema, f._schemaURL).toBeDefined();
      expect(a.validate(schema as object, f), `${name}: ${JSON.stringify(a.errors)}`).toBe(true);
    }
  });

  it('carries model version, hyperparameters, metrics and the drift decision in custom facets', () => {
    const completed = events.find((e) => e.run.facets.mlops_ledger?.ledgerEventType === 'TrainingCompleted');
    expect(completed?.eventType).toBe('COMPLETE');
    expect(completed?.run.facets.mlops_hyperparameters).toMatchObject({
      hyperparameters: { max_depth: 6 },
      seed: 7,
    });
    expect(completed?.run.facets.mlops_metrics).toMatchObject({ metrics: { auc: 0.71 } });
    expect(completed?.inputs.map((i) => i.namespace)).toEqual(['s3://mlops-datasets', 's3://mlops-datasets']);
    const drift = events.find((e) => e.run.facets.mlops_ledger?.ledgerEventType === 'DriftDetected');
    expect(drift?.run.facets.mlops_driftDecision).toMatchObject({ decision: 'drift', driftedShare: 0.6 });
    expect(drift?.run.facets.mlops_modelVersion).toMatchObject({ modelVersion: 'flight-delay-v1' });
  });

  it('keeps a training run under one runId from start to completion', () => {
    const training = events.filter((e) => e.job.name === 'flight-delay.training');
    const run1 = training.filter((e) => e.run.facets.mlops_ledger?.runKey === 'run-1');
    expect(new Set(run1.map((e) => e.run.runId))).toEqual(new Set([runUuid('run-1')]));
    expect(run1.map((e) => e.eventType)).toEqual(['START', 'COMPLETE', 'OTHER', 'OTHER']);
  });

  it('exports an edge export as its own run: the model archive in, model.onnx and its manifest out, the gate in a facet', () => {
    // Prepare
    const edge = toRunEvents(chained([...sampleHistory(), ...edgeExportHistory()])).filter(
      (e) => e.job.name === 'flight-delay.edge-export',
    );
    const validate = ajv().compile(spec);
    const a = ajv();

    // Assess: valid RunEvents whose facets match their schemas.
    expect(edge.map((e) => e.eventType)).toEqual(['COMPLETE', 'FAIL']);
    for (const e of edge) {
      expect(validate(e), JSON.stringify(validate.errors)).toBe(true);
      for (const f of [
        ...Object.values(e.run.facets),
        ...[...e.inputs, ...e.outputs].flatMap((d) => Object.values(d.facets ?? {})),
      ]) {
        const name = /#\/\$defs\/(\w+)$/.exec(f._schemaURL)?.[1] ?? '';
        expect(facetSchemas.$defs[name], f._schemaURL).toBeDefined();
        expect(
          a.validate(facetSchemas.$defs[name] as object, f),
          `${name}: ${JSON.stringify(a.errors)}`,
        ).toBe(true);
      }
    }
    const [exported, refused] = edge;
    expect(exported?.inputs.map((i) => `${i.namespace}/${i.name}`)).toEqual([
      's3://mlops-artifacts/run-1/model.tar.gz',
    ]);
    expect(exported?.outputs.map((o) => `${o.namespace}/${o.name}`)).toEqual([
      's3://mlops-artifacts/edge/flight-delay/1/model.onnx',
      's3://mlops-artifacts/edge/flight-delay/1/manifest.json',
    ]);
    expect(exported?.outputs[0]?.facets?.mlops_edgeModel).toMatchObject({
      format: 'onnx',
      opsets: [
        { domain: 'ai.onnx', version: 17 },
        { domain: 'ai.onnx.ml', version: 3 },
      ],
      versionId: 'v-onnx-1',
    });
    expect(exported?.outputs[1]?.facets?.mlops_edgeManifest).toEqual(
      expect.objectContaining({
        versionId: expect.any(String),
        modelSha256: exported?.outputs[0]?.facets?.mlops_edgeModel?.sha256,
      }),
    );
    expect(exported?.outputs[1]?.facets?.mlops_datasetVersion).toBeUndefined();
    expect(exported?.run.facets.mlops_edgeExport).toMatchObject({
      passed: true,
      trainingRunId: 'run-1',
      parity: { maxAbsDelta: 1.19e-7, flips: 0, rows: 4812 },
    });
    expect(exported?.run.facets.mlops_modelVersion).toMatchObject({ modelVersion: 'flight-delay-v1' });
    // A refused file publishes nothing: no outputs, the figures in the facet.
    expect(refused?.outputs).toEqual([]);
    expect(refused?.run.facets.mlops_edgeExport).toMatchObject({ passed: false, parity: { flips: 12 } });
    expect(refused?.run.runId).not.toBe(exported?.run.runId);
  });

  it('the edge facet schema can fail: a parity without its figures is rejected', () => {
    const schema = facetSchemas.$defs.EdgeExportRunFacet as object;
    const facet = {
      _producer: 'urn:x',
      _schemaURL: 'urn:x#/$defs/EdgeExportRunFacet',
      passed: true,
      reason: 'x',
      trainingRunId: 'r',
    };
    expect(ajv().validate(schema, facet)).toBe(true);
    expect(ajv().validate(schema, { ...facet, parity: { passed: true } })).toBe(false);
  });

  it('derives stable RFC 9562 UUIDs and keeps real UUIDs', () => {
    expect(runUuid('run-1')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(runUuid('run-1')).toBe(runUuid('run-1'));
    expect(runUuid('3F2504E0-4F89-11D3-9A0C-0305E82C3301')).toBe('3f2504e0-4f89-11d3-9a0c-0305e82c3301');
  });
});
