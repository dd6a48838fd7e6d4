import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../shared/errors.ts';
import { appendEvent } from '../../../shared/ledger/append.ts';
import { generateModelCard } from '../../../shared/ledger/model-card.ts';
import {
  allEventsInRange,
  eventsInRange,
  getProvenance,
  incidentsForModel,
  ModelVersionNotFoundError,
  modelsFromDataset,
  servedAt,
} from '../../../shared/ledger/queries.ts';
import {
  DATASET,
  ENDPOINT,
  edgeExportHistory,
  manifest,
  OTHER_DATASET,
  sampleHistory,
  sha,
  TIMES,
  t,
} from '../../support/ledger-history.ts';
import { type LedgerDb, startLedgerDb, type TestLedger } from '../../support/ledger-table.ts';

let db: LedgerDb;
let loc: TestLedger;

beforeAll(async () => {
  db = await startLedgerDb();
  loc = db.ledger(await db.createLedgerTable('ledger-queries'));
  for (const e of sampleHistory()) await appendEvent(loc, e);
});
afterAll(async () => {
  await db?.stop();
});

describe('provenance of a model version', () => {
  it('answers data, code, config, image, hyperparameters, seed, metrics, approvals and deployments from the ledger', async () => {
    const p = await getProvenance(loc, 'flight-delay-v1');
    expect(p.useCase).toBe('flight-delay');
    expect(p.run).toMatchObject({
      runId: 'run-1',
      status: 'completed',
      trigger: 'manual',
      reason: 'first model',
    });
    expect(p.dataset).toMatchObject({ hash: DATASET, rowCount: 250_000, cutoff: t(0) });
    expect(p.dataset.objects).toEqual(manifest(7).dataset.objects);
    expect(p.manifest).toEqual(manifest(7));
    expect(p.manifest?.featureDefinitionsHash).toBe(sha('features-v3'));
    expect(p.metrics).toEqual({ auc: 0.71, logLoss: 0.52 });
    expect(p.artifact?.sha256).toBe(sha('model-1'));
    expect(p.evaluations).toHaveLength(1);
    expect(p.evaluations[0]?.gates[0]).toMatchObject({ name: 'auc-floor', passed: true });
    expect(p.approvals).toEqual([
      expect.objectContaining({
        approver: 'arn:aws:iam::111122223333:user/alice',
        decision: 'approved',
        seq: 6,
      }),
    ]);
    expect(p.deployments.map((d) => [d.type, d.endpointName])).toEqual([
      ['DeploymentStarted', ENDPOINT],
      ['DeploymentCompleted', ENDPOINT],
    ]);
    expect(p.incidents.map((i) => i.incidentId)).toEqual(['INC-1']);
    expect(p.gaps).toEqual([]);
  });

  it('names the facts the ledger lacks instead of inventing them', async () => {
    const partial = db.ledger(await db.createLedgerTable('ledger-partial'));
    const reg = sampleHistory().find((e) => e.eventId === 'mv-2-reg');
    await appendEvent(partial, reg);
    const p = await getProvenance(partial, 'flight-delay-v2');
    expect(p.manifest).toBeUndefined();
    expect(p.run.status).toBe('unknown');
    expect(p.gaps).toEqual([
      'no TrainingStarted event for run run-2',
      'no TrainingCompleted event for run run-2',
      `no DatasetBuilt event for dataset ${DATASET}`,
    ]);
  });

  it('throws a not-found error for an unknown model version', async () => {
    await expect(getProvenance(loc, 'no-such-model')).rejects.toBeInstanceOf(ModelVersionNotFoundError);
  });
});

describe('models derived from a dataset', () => {
  it('lists every registered model and run trained on the dataset', async () => {
    const lineage = await modelsFromDataset(loc, DATASET);
    expect(lineage.models.map((m) => [m.modelVersion, m.runId])).toEqual([
      ['flight-delay-v1', 'run-1'],
      ['flight-delay-v2', 'run-2'],
    ]);
    expect(lineage.runs.map((r) => r.runId)).toEqual(['run-1', 'run-2']);
    expect(lineage.built?.rowCount).toBe(250_000);
  });

  it('lists no model for a dataset whose only run failed', async () => {
    const lineage = await modelsFromDataset(loc, OTHER_DATASET);
    expect(lineage.models).toEqual([]);
    expect(lineage.built?.seq).toBe(21);
  });

  it('throws not-found for a dataset the ledger never saw', async () => {
    await expect(modelsFromDataset(loc, sha('unknown'))).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('what served an endpoint at a time', () => {
  it.each([
    ['before any deployment', t(9), null],
    ['exactly when v1 was deployed', TIMES.mv1Deployed, 'flight-delay-v1'],
    ['while v1 served', t(40), 'flight-delay-v1'],
    ['after v2 was deployed', t(65), 'flight-delay-v2'],
    ['after v2 was rolled back to v1', t(70.5), 'flight-delay-v1'],
  ])('answers %s', async (_, at, expected) => {
    const answer = await servedAt(loc, ENDPOINT, at);
    expect(answer.modelVersion).toBe(expected);
  });

  it('cites the deciding event', async () => {
    const answer = await servedAt(loc, ENDPOINT, t(200));
    expect(answer.decidedBy).toMatchObject({
      type: 'DeploymentRolledBack',
      eventId: 'dep-2-rollback',
      seq: 19,
    });
  });

  it('breaks a tie at the same instant by chain position', async () => {
    const tie = db.ledger(await db.createLedgerTable('ledger-tie'));
    const [deployed, rolledBack] = sampleHistory().filter(
      (e) => e.eventId === 'dep-2-done' || e.eventId === 'dep-2-rollback',
    );
    await appendEvent(tie, deployed);
    await appendEvent(tie, { ...rolledBack, time: deployed?.time });
    expect((await servedAt(tie, ENDPOINT, t(61))).modelVersion).toBe('flight-delay-v1');
  });
});

describe('events in a time range', () => {
  it('returns the events of the range in time order across day partitions', async () => {
    const records = await allEventsInRange(loc, t(5), t(60));
    const expected = sampleHistory().filter((e) => e.time >= t(5) && e.time <= t(60));
    expect(records.map((r) => r.event.eventId)).toEqual(expected.map((e) => e.eventId));
    expect(new Set(records.map((r) => r.event.time.slice(0, 10))).size).toBe(3);
  });

  it('pages with a cursor and loses or repeats nothing', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await eventsInRange(loc, {
        from: t(0),
        to: t(200),
        limit: 4,
        ...(cursor ? { cursor } : {}),
      });
      expect(page.records.length).toBeLessThanOrEqual(4);
      seen.push(...page.records.map((r) => r.event.eventId));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThanOrEqual(6);
    expect(seen).toEqual(sampleHistory().map((e) => e.eventId));
  });

  it('refuses a range longer than a year and a reversed range', async () => {
    await expect(
      eventsInRange(loc, { from: '2020-01-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }),
    ).rejects.toThrow('query at most 366');
    await expect(eventsInRange(loc, { from: t(5), to: t(1) })).rejects.toThrow('is after');
  });
});

describe('incidents and rollbacks of a model version', () => {
  it('lists the incidents of v1 and no rollback', async () => {
    const r = await incidentsForModel(loc, 'flight-delay-v1');
    expect(r.incidents.map((i) => [i.incidentId, i.severity])).toEqual([['INC-1', 'medium']]);
    expect(r.rollbacks).toEqual([]);
    expect(r.driftDetections.map((d) => d.driftedFeatures)).toEqual([['hour']]);
  });

  it('lists the rollback and incident of v2', async () => {
    const r = await incidentsForModel(loc, 'flight-delay-v2');
    expect(r.rollbacks).toEqual([
      expect.objectContaining({
        reason: 'p99 latency alarm',
        restoredModelVersion: 'flight-delay-v1',
        seq: 19,
      }),
    ]);
    expect(r.incidents.map((i) => i.incidentId)).toEqual(['INC-2']);
  });
});

describe('model card', () => {
  it('is generated from ledger facts, citing events', async () => {
    const card = await generateModelCard(loc, 'flight-delay-v2');
    expect(card).toContain('# Model card: flight-delay-v2');
    expect(card).toContain('| hyperparameter `max_depth` | 6 |');
    expect(card).toContain('| seed | 8 |');
    expect(card).toContain('| auc | 0.74 |');
    expect(card).toMatch(/arn:aws:iam::111122223333:user\/bob \| approved \| better AUC \| #16/);
    expect(card).toContain('DeploymentRolledBack (p99 latency alarm; restored flight-delay-v1)');
    expect(card).toContain('high: Latency regression after deploy');
    expect(card).toContain('_No evaluation recorded._');
  });
});

describe('edge exports of a model version', () => {
  let edgeLedger: TestLedger;
  beforeAll(async () => {
    // Prepare: v1's history up to its approval, then its two edge exports.
    edgeLedger = db.ledger(await db.createLedgerTable('ledger-edge'));
    for (const e of [...sampleHistory().slice(0, 6), ...edgeExportHistory()])
      await appendEvent(edgeLedger, e);
  });

  it('shows each export attempt in the provenance, in time order, with its figures and file', async () => {
    const p = await getProvenance(edgeLedger, 'flight-delay-v1');
    expect(p.edgeExports).toEqual([
      expect.objectContaining({
        type: 'EdgeModelExported',
        passed: true,
        sha256: sha('edge-1'),
        model: { bucket: 'mlops-artifacts', key: 'edge/flight-delay/1/model.onnx', versionId: 'v-onnx-1' },
        parity: expect.objectContaining({ maxAbsDelta: 1.19e-7, flips: 0 }),
        actor: 'pipeline/ExportEdge',
        seq: 7,
      }),
      expect.objectContaining({
        type: 'EdgeExportFailed',
        passed: false,
        sha256: sha('edge-1-tampered'),
        reason: expect.stringMatching(/^parity failed on 4812 rows: max \|Δ\| 0\.0415/),
        actor: 'cli/alice',
        seq: 8,
      }),
    ]);
    expect(p.edgeExports[1]).not.toHaveProperty('model');
  });

  it('lists them in the model card, the refused one marked and unpublished', async () => {
    const card = await generateModelCard(edgeLedger, 'flight-delay-v1');
    expect(card).toContain('## Edge export');
    expect(card).toMatch(
      /\| exported \| 1\.19e-7 \(limit 0\.000001\) \| 0 \(limit 0%\) \| 4812 \| s3:\/\/mlops-artifacts\/edge\/flight-delay\/1\/model\.onnx \(sha256 [0-9a-f]{64}, version v-onnx-1\) \| #7/,
    );
    expect(card).toMatch(
      /\| REFUSED: parity failed on 4812 rows.* \| 0\.0415 \(limit 0\.000001\) \| 12 \(limit 0%\) \| 4812 \| not published \(sha256 [0-9a-f]{64}\) \| #8/,
    );
  });

  it('says so when a version has no edge export', async () => {
    const card = await generateModelCard(loc, 'flight-delay-v2');
    expect(card).toContain('## Edge export\n\n_No edge export recorded._');
    expect((await getProvenance(loc, 'flight-delay-v2')).edgeExports).toEqual([]);
  });
});
