/**
 * A realistic ledger history for tests: two training runs on one dataset, approvals, two
 * deployments to one endpoint, monitoring, drift, incidents and a rollback, spread over five days.
 */
import { createHash } from 'node:crypto';
import type { LedgerEvent, ReproducibilityManifest } from '../../shared/ledger/events.ts';

/** Deterministic fake SHA-256 of a label. */
export const sha = (label: string): string => createHash('sha256').update(label).digest('hex');

export const USE_CASE = 'flight-delay';
export const ENDPOINT = 'flight-delay-prod';
export const DATASET = sha('dataset-2001-01');
export const OTHER_DATASET = sha('dataset-2001-02');

/** Time `hours` after 2025-03-01T00:00:00Z. */
export const t = (hours: number): string => new Date(Date.UTC(2025, 2, 1) + hours * 3_600_000).toISOString();

/** Times of the deployment decisions on ENDPOINT. */
export const TIMES = { mv1Deployed: t(10), mv2Deployed: t(60), mv2RolledBack: t(70) } as const;

export function manifest(seed: number, dataset = DATASET): ReproducibilityManifest {
  return {
    dataset: {
      hash: dataset,
      objects: [
        {
          bucket: 'mlops-datasets',
          key: `snapshots/${dataset.slice(0, 8)}/train.parquet`,
          versionId: `v-train-${seed}`,
        },
        {
          bucket: 'mlops-datasets',
          key: `snapshots/${dataset.slice(0, 8)}/manifest.json`,
          versionId: `v-man-${seed}`,
        },
      ],
    },
    featureDefinitionsHash: sha('features-v3'),
    codeVersion: 'git:4f2c1e9',
    configHash: sha('config-flight-delay'),
    containerImage: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
    hyperparameters: { max_depth: 6, eta: 0.2, objective: 'binary:logistic', num_round: 120 },
    seed,
  };
}

/** The 22 events of the history, in append order. */
export function sampleHistory(): LedgerEvent[] {
  const common = { useCase: USE_CASE };
  return [
    {
      ...common,
      eventId: 'ds-1',
      type: 'DatasetBuilt',
      actor: 'pipeline/BuildDataset',
      time: t(1),
      datasetHash: DATASET,
      objects: manifest(7).dataset.objects,
      featureDefinitionsHash: sha('features-v3'),
      rowCount: 250_000,
      cutoff: t(0),
    },
    {
      ...common,
      eventId: 'run-1-start',
      type: 'TrainingStarted',
      actor: 'pipeline/Train',
      time: t(2),
      runId: 'run-1',
      datasetHash: DATASET,
      trigger: 'manual',
      reason: 'first model',
      manifest: manifest(7),
    },
    {
      ...common,
      eventId: 'run-1-done',
      type: 'TrainingCompleted',
      actor: 'pipeline/Train',
      time: t(3),
      runId: 'run-1',
      datasetHash: DATASET,
      manifest: manifest(7),
      metrics: { auc: 0.71, logLoss: 0.52 },
      artifact: { uri: 's3://mlops-artifacts/run-1/model.tar.gz', sha256: sha('model-1') },
    },
    {
      ...common,
      eventId: 'run-1-eval',
      type: 'ModelEvaluated',
      actor: 'pipeline/Evaluate',
      time: t(4),
      runId: 'run-1',
      datasetHash: DATASET,
      metrics: { auc: 0.7 },
      gates: [
        { name: 'auc-floor', metric: 'auc', comparison: '>=', threshold: 0.65, actual: 0.7, passed: true },
      ],
      passed: true,
    },
    {
      ...common,
      eventId: 'mv-1-reg',
      type: 'ModelRegistered',
      actor: 'pipeline/Register',
      time: t(5),
      modelVersion: 'flight-delay-v1',
      runId: 'run-1',
      datasetHash: DATASET,
      artifactUri: 's3://mlops-artifacts/run-1/model.tar.gz',
      modelPackageArn: 'arn:aws:sagemaker:us-east-1:111122223333:model-package/flight-delay/1',
    },
    {
      ...common,
      eventId: 'mv-1-approval',
      type: 'ApprovalRecorded',
      actor: 'arn:aws:iam::111122223333:user/alice',
      time: t(6),
      modelVersion: 'flight-delay-v1',
      runId: 'run-1',
      approver: 'arn:aws:iam::111122223333:user/alice',
      decision: 'approved',
      reason: 'AUC above floor, reviewed features',
    },
    {
      ...common,
      eventId: 'dep-1-start',
      type: 'DeploymentStarted',
      actor: 'pipeline/Deploy',
      time: t(8),
      deploymentId: 'dep-1',
      modelVersion: 'flight-delay-v1',
      endpointName: ENDPOINT,
      strategy: { kind: 'canary', canaryPercent: 10, bakeMinutes: 30 },
    },
    {
      ...common,
      eventId: 'dep-1-done',
      type: 'DeploymentCompleted',
      actor: 'pipeline/Deploy',
      time: TIMES.mv1Deployed,
      deploymentId: 'dep-1',
      modelVersion: 'flight-delay-v1',
      endpointName: ENDPOINT,
    },
    {
      ...common,
      eventId: 'mon-1',
      type: 'MonitoringReport',
      actor: 'monitor/schedule',
      time: t(30),
      modelVersion: 'flight-delay-v1',
      endpointName: ENDPOINT,
      window: { start: t(24), end: t(30) },
      sampleSize: 4000,
      driftedShare: 0.6,
      decision: 'drift',
      features: [
        { name: 'hour', test: 'psi', statistic: 0.31, drifted: true },
        { name: 'distance', test: 'wasserstein', statistic: 0.02, drifted: false },
      ],
      quality: { auc: 0.64 },
    },
    {
      ...common,
      eventId: 'drift-1',
      type: 'DriftDetected',
      actor: 'monitor/schedule',
      time: t(30.5),
      modelVersion: 'flight-delay-v1',
      endpointName: ENDPOINT,
      window: { start: t(24), end: t(30) },
      driftedFeatures: ['hour'],
      driftedShare: 0.6,
      threshold: 0.5,
    },
    {
      ...common,
      eventId: 'inc-1',
      type: 'IncidentOpened',
      actor: 'monitor/schedule',
      time: t(31),
      incidentId: 'INC-1',
      modelVersion: 'flight-delay-v1',
      endpointName: ENDPOINT,
      severity: 'medium',
      summary: 'Drift on hour beyond policy',
      relatedEventIds: ['drift-1'],
    },
    {
      ...common,
      eventId: 'retrain-1',
      type: 'RetrainingTriggered',
      actor: 'monitor/schedule',
      time: t(32),
      modelVersion: 'flight-delay-v1',
      trigger: 'drift',
      reason: 'drifted share 0.6 > 0.5',
      runId: 'run-2',
    },
    {
      ...common,
      eventId: 'run-2-start',
      type: 'TrainingStarted',
      actor: 'pipeline/Train',
      time: t(40),
      runId: 'run-2',
      datasetHash: DATASET,
      trigger: 'drift',
      manifest: manifest(8),
    },
    {
      ...common,
      eventId: 'run-2-done',
      type: 'TrainingCompleted',
      actor: 'pipeline/Train',
      time: t(42),
      runId: 'run-2',
      datasetHash: DATASET,
      manifest: manifest(8),
      metrics: { auc: 0.74, logLoss: 0.49 },
      artifact: { uri: 's3://mlops-artifacts/run-2/model.tar.gz', sha256: sha('model-2') },
    },
    {
      ...common,
      eventId: 'mv-2-reg',
      type: 'ModelRegistered',
      actor: 'pipeline/Register',
      time: t(44),
      modelVersion: 'flight-delay-v2',
      runId: 'run-2',
      datasetHash: DATASET,
      artifactUri: 's3://mlops-artifacts/run-2/model.tar.gz',
    },
    {
      ...common,
      eventId: 'mv-2-approval',
      type: 'ApprovalRecorded',
      actor: 'arn:aws:iam::111122223333:user/bob',
      time: t(50),
      modelVersion: 'flight-delay-v2',
      approver: 'arn:aws:iam::111122223333:user/bob',
      decision: 'approved',
      reason: 'better AUC',
    },
    {
      ...common,
      eventId: 'dep-2-start',
      type: 'DeploymentStarted',
      actor: 'pipeline/Deploy',
      time: t(58),
      deploymentId: 'dep-2',
      modelVersion: 'flight-delay-v2',
      endpointName: ENDPOINT,
      previousModelVersion: 'flight-delay-v1',
      strategy: { kind: 'canary', canaryPercent: 10, bakeMinutes: 30 },
    },
    {
      ...common,
      eventId: 'dep-2-done',
      type: 'DeploymentCompleted',
      actor: 'pipeline/Deploy',
      time: TIMES.mv2Deployed,
      deploymentId: 'dep-2',
      modelVersion: 'flight-delay-v2',
      endpointName: ENDPOINT,
    },
    {
      ...common,
      eventId: 'dep-2-rollback',
      type: 'DeploymentRolledBack',
      actor: 'arn:aws:iam::111122223333:user/carol',
      time: TIMES.mv2RolledBack,
      deploymentId: 'dep-2',
      modelVersion: 'flight-delay-v2',
      endpointName: ENDPOINT,
      restoredModelVersion: 'flight-delay-v1',
      reason: 'p99 latency alarm',
    },
    {
      ...common,
      eventId: 'inc-2',
      type: 'IncidentOpened',
      actor: 'arn:aws:iam::111122223333:user/carol',
      time: t(71),
      incidentId: 'INC-2',
      modelVersion: 'flight-delay-v2',
      endpointName: ENDPOINT,
      severity: 'high',
      summary: 'Latency regression after deploy',
    },
    {
      ...common,
      eventId: 'ds-2',
      type: 'DatasetBuilt',
      actor: 'pipeline/BuildDataset',
      time: t(100),
      datasetHash: OTHER_DATASET,
      objects: manifest(9, OTHER_DATASET).dataset.objects,
      featureDefinitionsHash: sha('features-v3'),
      rowCount: 260_000,
      cutoff: t(96),
    },
    {
      ...common,
      eventId: 'run-3-fail',
      type: 'TrainingFailed',
      actor: 'pipeline/ValidateData',
      time: t(101),
      runId: 'run-3',
      datasetHash: OTHER_DATASET,
      step: 'ValidateData',
      reason: 'label balance 0.01 below 0.05',
    },
  ];
}

/**
 * Two edge exports of flight-delay-v1 after its approval (t(6)): the pipeline's, published, and an
 * operator's re-export of a corrupted file, refused by the parity gate. Not part of sampleHistory,
 * whose size other tests count.
 */
export function edgeExportHistory(): LedgerEvent[] {
  const common = {
    useCase: USE_CASE,
    modelVersion: 'flight-delay-v1',
    runId: 'run-1',
    datasetHash: DATASET,
    sourceModelUri: 's3://mlops-artifacts/run-1/model.tar.gz',
  };
  const limits = { maxAbsDelta: 1e-6, maxFlipShare: 0 };
  return [
    {
      ...common,
      eventId: 'run-1-edge-export',
      type: 'EdgeModelExported',
      actor: 'pipeline/ExportEdge',
      time: t(6.5),
      model: {
        format: 'onnx',
        sha256: sha('edge-1'),
        bytes: 48_213,
        irVersion: 8,
        opsets: [
          { domain: 'ai.onnx', version: 17 },
          { domain: 'ai.onnx.ml', version: 3 },
        ],
        inputs: [
          { name: 'distance', type: 'float32', shape: ['N', 1] },
          { name: 'origin', type: 'string', shape: ['N', 1] },
        ],
        output: { name: 'score', type: 'float32', shape: ['N', 1] },
        sourceModelSha256: sha('xgboost-model-1'),
      },
      parity: {
        passed: true,
        reason:
          'parity passed on 4812 rows: max |Δ| 1.19e-7 <= 0.000001; 0 of 4812 labels (0%) flip at threshold 0.5, allowed 0%',
        rows: 4812,
        maxAbsDelta: 1.19e-7,
        nanMismatches: 0,
        infiniteMismatches: 0,
        worstRow: 17,
        flips: 0,
        flipShare: 0,
        ties: 1,
        threshold: 0.5,
        limits,
      },
      objects: {
        model: { bucket: 'mlops-artifacts', key: 'edge/flight-delay/1/model.onnx', versionId: 'v-onnx-1' },
        manifest: {
          bucket: 'mlops-artifacts',
          key: 'edge/flight-delay/1/manifest.json',
          versionId: 'v-man-1',
        },
      },
    },
    {
      ...common,
      eventId: 'flight-delay-v1-edge-20250301T070000000Z',
      type: 'EdgeExportFailed',
      actor: 'cli/alice',
      time: t(7),
      reason:
        'parity failed on 4812 rows: max |Δ| 0.0415 at row 3 (expected 0.31, ONNX 0.3515) exceeds 0.000001; 12 of 4812 labels (0.249%) flip at threshold 0.5, above the allowed 0%',
      file: { sha256: sha('edge-1-tampered'), bytes: 48_213 },
      parity: {
        passed: false,
        reason:
          'parity failed on 4812 rows: max |Δ| 0.0415 at row 3 (expected 0.31, ONNX 0.3515) exceeds 0.000001; 12 of 4812 labels (0.249%) flip at threshold 0.5, above the allowed 0%',
        rows: 4812,
        maxAbsDelta: 0.0415,
        nanMismatches: 0,
        worstRow: 3,
        flips: 12,
        flipShare: 12 / 4812,
        threshold: 0.5,
        limits,
      },
    },
  ];
}
