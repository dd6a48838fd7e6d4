/**
 * Exports ledger records as OpenLineage RunEvents (spec: /work/shared/openlineage/OpenLineage.json,
 * JSON Schema draft 2020-12). One ledger event becomes one RunEvent; ML facts travel in custom
 * run facets prefixed `mlops_`, each with `_producer` and `_schemaURL` as BaseFacet requires. Their
 * schemas are in `openlineage-facets.json` next to this file.
 */
import { createHash } from 'node:crypto';
import type { LedgerEvent, LedgerRecord, ReproducibilityManifest, S3ObjectVersion } from './events.ts';

/** Default producer URI; set your repository URL with `producer`. */
export const DEFAULT_OPENLINEAGE_PRODUCER = 'urn:serverless-mlops:ledger:1';
/** Default base of the custom facets' schema URLs (`<base>#/$defs/<Facet>`). */
export const DEFAULT_FACET_SCHEMA_BASE = 'urn:serverless-mlops:openlineage-facets:1';

/** How the export names things. */
export interface OpenLineageOptions {
  /**
   * URI identifying the producer, written to every event and facet.
   * @default DEFAULT_OPENLINEAGE_PRODUCER
   */
  readonly producer?: string;
  /**
   * Base URI of the custom facets' JSON Schema document.
   * @default DEFAULT_FACET_SCHEMA_BASE
   */
  readonly facetSchemaBase?: string;
  /**
   * Job namespace.
   * @default 'mlops'
   */
  readonly namespace?: string;
}

/** A facet: any fields plus the two BaseFacet ones. */
export interface OpenLineageFacet {
  readonly _producer: string;
  readonly _schemaURL: string;
  readonly [field: string]: unknown;
}

/** An OpenLineage dataset reference. */
export interface OpenLineageDataset {
  readonly namespace: string;
  readonly name: string;
  readonly facets?: Record<string, OpenLineageFacet>;
}

/** An OpenLineage RunEvent. */
export interface OpenLineageRunEvent {
  readonly eventType: 'START' | 'COMPLETE' | 'ABORT' | 'FAIL' | 'OTHER';
  readonly eventTime: string;
  readonly producer: string;
  readonly run: { readonly runId: string; readonly facets: Record<string, OpenLineageFacet> };
  readonly job: { readonly namespace: string; readonly name: string };
  readonly inputs: readonly OpenLineageDataset[];
  readonly outputs: readonly OpenLineageDataset[];
}

/**
 * A stable UUID for a ledger run key: the key itself when it is a UUID, else the first 128 bits
 * of its SHA-256 with the version nibble set to 8 (RFC 9562 custom UUID).
 */
export function runUuid(key: string): string {
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(key)) return key.toLowerCase();
  const h = createHash('sha256').update(key, 'utf8').digest('hex');
  const variant = ((Number.parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function jobOf(event: LedgerEvent): { kind: string; runKey: string } {
  switch (event.type) {
    case 'DatasetBuilt':
      return { kind: 'dataset-build', runKey: event.runId ?? `dataset:${event.datasetHash}` };
    case 'TrainingStarted':
    case 'TrainingCompleted':
    case 'TrainingFailed':
    case 'ModelEvaluated':
    case 'ModelRegistered':
      return { kind: 'training', runKey: event.runId };
    case 'ApprovalRecorded':
      return { kind: 'approval', runKey: event.eventId };
    case 'DeploymentStarted':
    case 'DeploymentCompleted':
      return { kind: 'deployment', runKey: event.deploymentId };
    case 'DeploymentRolledBack':
      return { kind: 'deployment', runKey: event.deploymentId ?? event.eventId };
    case 'MonitoringReport':
    case 'DriftDetected':
      return {
        kind: 'monitoring',
        runKey: `${event.endpointName}:${event.window.start}:${event.window.end}`,
      };
    case 'RetrainingTriggered':
      return { kind: 'retraining', runKey: event.eventId };
    case 'IncidentOpened':
      return { kind: 'incident', runKey: event.incidentId };
    case 'EdgeModelExported':
    case 'EdgeExportFailed':
      // Each export attempt is a run of its own; the training run it exported is in the facet.
      return { kind: 'edge-export', runKey: event.eventId };
  }
}

const EVENT_TYPE: Record<LedgerEvent['type'], OpenLineageRunEvent['eventType']> = {
  DatasetBuilt: 'COMPLETE',
  TrainingStarted: 'START',
  TrainingCompleted: 'COMPLETE',
  TrainingFailed: 'FAIL',
  ModelEvaluated: 'OTHER',
  ModelRegistered: 'OTHER',
  ApprovalRecorded: 'OTHER',
  DeploymentStarted: 'START',
  DeploymentCompleted: 'COMPLETE',
  DeploymentRolledBack: 'ABORT',
  MonitoringReport: 'OTHER',
  DriftDetected: 'OTHER',
  RetrainingTriggered: 'OTHER',
  IncidentOpened: 'OTHER',
  EdgeModelExported: 'COMPLETE',
  EdgeExportFailed: 'FAIL',
};

/** Splits `s3://bucket/key` (or any `scheme://authority/path`) into an OpenLineage namespace and name. */
function datasetFromUri(uri: string): { namespace: string; name: string } {
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/]+)\/?(.*)$/i.exec(uri);
  return m?.[1] ? { namespace: m[1], name: m[2] || '/' } : { namespace: 'mlops', name: uri };
}

/** The named fields of an event, in the order given: the facets that copy event fields as they are. */
function pick<E extends object, K extends keyof E>(event: E, ...keys: readonly K[]): Pick<E, K> {
  return Object.fromEntries(keys.map((k) => [k, event[k]])) as Pick<E, K>;
}

/** Converts one ledger record to a RunEvent. */
export function toRunEvent(record: LedgerRecord, options: OpenLineageOptions = {}): OpenLineageRunEvent {
  const producer = options.producer ?? DEFAULT_OPENLINEAGE_PRODUCER;
  const base = options.facetSchemaBase ?? DEFAULT_FACET_SCHEMA_BASE;
  const facet = (name: string, fields: Record<string, unknown>): OpenLineageFacet => ({
    _producer: producer,
    _schemaURL: `${base}#/$defs/${name}`,
    ...fields,
  });
  const event = record.event;
  const { kind, runKey } = jobOf(event);
  const facets: Record<string, OpenLineageFacet> = {
    mlops_ledger: facet('LedgerRunFacet', {
      chain: record.chain,
      seq: record.seq,
      hash: record.hash,
      prevHash: record.prevHash,
      eventId: event.eventId,
      ledgerEventType: event.type,
      actor: event.actor,
      useCase: event.useCase,
      runKey,
    }),
  };
  const inputs: OpenLineageDataset[] = [];
  const outputs: OpenLineageDataset[] = [];
  const s3Dataset = (o: S3ObjectVersion, datasetHash: string): OpenLineageDataset => ({
    namespace: `s3://${o.bucket}`,
    name: o.key,
    facets: { mlops_datasetVersion: facet('DatasetVersionFacet', { versionId: o.versionId, datasetHash }) },
  });
  const addManifest = (m: ReproducibilityManifest) => {
    facets.mlops_hyperparameters = facet('HyperparametersRunFacet', {
      hyperparameters: m.hyperparameters,
      seed: m.seed,
    });
    facets.mlops_reproducibility = facet('ReproducibilityRunFacet', {
      datasetHash: m.dataset.hash,
      featureDefinitionsHash: m.featureDefinitionsHash,
      codeVersion: m.codeVersion,
      configHash: m.configHash,
      containerImage: m.containerImage,
    });
    inputs.push(...m.dataset.objects.map((o) => s3Dataset(o, m.dataset.hash)));
  };
  const modelVersion = 'modelVersion' in event ? event.modelVersion : undefined;
  if (modelVersion !== undefined) {
    facets.mlops_modelVersion = facet('ModelVersionRunFacet', {
      modelVersion,
      ...('endpointName' in event && event.endpointName ? { endpointName: event.endpointName } : {}),
    });
  }
  switch (event.type) {
    case 'DatasetBuilt':
      outputs.push(...event.objects.map((o) => s3Dataset(o, event.datasetHash)));
      break;
    case 'TrainingStarted':
      addManifest(event.manifest);
      break;
    case 'TrainingCompleted':
      addManifest(event.manifest);
      facets.mlops_metrics = facet('MetricsRunFacet', { metrics: event.metrics });
      outputs.push({
        ...datasetFromUri(event.artifact.uri),
        facets: { mlops_artifact: facet('ArtifactDatasetFacet', { sha256: event.artifact.sha256 }) },
      });
      break;
    case 'TrainingFailed':
      facets.mlops_failure = facet('FailureRunFacet', { step: event.step, reason: event.reason });
      break;
    case 'ModelEvaluated':
      facets.mlops_metrics = facet('MetricsRunFacet', {
        metrics: event.metrics,
        ...(event.champion ? { champion: event.champion } : {}),
        gates: event.gates,
        passed: event.passed,
      });
      break;
    case 'ModelRegistered':
      outputs.push({
        namespace: `mlops://models/${event.useCase}`,
        name: event.modelVersion,
        facets: {
          mlops_artifact: facet('ArtifactDatasetFacet', {
            artifactUri: event.artifactUri,
            ...(event.modelPackageArn ? { modelPackageArn: event.modelPackageArn } : {}),
          }),
        },
      });
      break;
    case 'ApprovalRecorded':
      facets.mlops_approval = facet('ApprovalRunFacet', pick(event, 'approver', 'decision', 'reason'));
      break;
    case 'MonitoringReport':
      facets.mlops_driftDecision = facet(
        'DriftDecisionRunFacet',
        pick(event, 'decision', 'driftedShare', 'threshold', 'sampleSize', 'window', 'features'),
      );
      if (event.quality) facets.mlops_metrics = facet('MetricsRunFacet', { metrics: event.quality });
      break;
    case 'DriftDetected':
      facets.mlops_driftDecision = facet('DriftDecisionRunFacet', {
        decision: 'drift',
        ...pick(event, 'driftedShare', 'threshold', 'window', 'driftedFeatures'),
      });
      break;
    case 'DeploymentRolledBack':
      facets.mlops_rollback = facet('RollbackRunFacet', {
        reason: event.reason,
        ...(event.restoredModelVersion ? { restoredModelVersion: event.restoredModelVersion } : {}),
      });
      break;
    case 'IncidentOpened':
      facets.mlops_incident = facet('IncidentRunFacet', pick(event, 'incidentId', 'severity', 'summary'));
      break;
    case 'RetrainingTriggered':
      facets.mlops_retraining = facet('RetrainingRunFacet', {
        trigger: event.trigger,
        reason: event.reason,
        ...(event.runId ? { newRunId: event.runId } : {}),
      });
      break;
    case 'EdgeModelExported':
      facets.mlops_edgeExport = facet('EdgeExportRunFacet', {
        passed: true,
        reason: event.parity.reason,
        trainingRunId: event.runId,
        parity: event.parity,
      });
      inputs.push({
        ...datasetFromUri(event.sourceModelUri),
        facets: { mlops_artifact: facet('ArtifactDatasetFacet', { artifactUri: event.sourceModelUri }) },
      });
      outputs.push(
        {
          namespace: `s3://${event.objects.model.bucket}`,
          name: event.objects.model.key,
          facets: {
            mlops_edgeModel: facet('EdgeModelDatasetFacet', {
              ...event.model,
              versionId: event.objects.model.versionId,
            }),
          },
        },
        {
          namespace: `s3://${event.objects.manifest.bucket}`,
          name: event.objects.manifest.key,
          facets: {
            mlops_edgeManifest: facet('EdgeManifestDatasetFacet', {
              versionId: event.objects.manifest.versionId,
              modelSha256: event.model.sha256,
            }),
          },
        },
      );
      break;
    case 'EdgeExportFailed':
      facets.mlops_edgeExport = facet('EdgeExportRunFacet', {
        passed: false,
        reason: event.reason,
        trainingRunId: event.runId,
        ...(event.parity ? { parity: event.parity } : {}),
        ...(event.file ? { file: event.file } : {}),
      });
      if (event.sourceModelUri) {
        inputs.push({
          ...datasetFromUri(event.sourceModelUri),
          facets: {
            mlops_artifact: facet('ArtifactDatasetFacet', { artifactUri: event.sourceModelUri }),
          },
        });
      }
      break;
    case 'DeploymentStarted':
    case 'DeploymentCompleted':
      break;
  }
  return {
    eventType: EVENT_TYPE[event.type],
    eventTime: event.time,
    producer,
    run: { runId: runUuid(runKey), facets },
    job: { namespace: options.namespace ?? 'mlops', name: `${event.useCase}.${kind}` },
    inputs,
    outputs,
  };
}

/** Converts ledger records (any order) to RunEvents in chain order. */
export function toRunEvents(
  records: readonly LedgerRecord[],
  options: OpenLineageOptions = {},
): OpenLineageRunEvent[] {
  return [...records].sort((a, b) => a.seq - b.seq).map((r) => toRunEvent(r, options));
}
