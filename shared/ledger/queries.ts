/**
 * The five audit queries. Each needs only read access (GetItem/Query on the ledger and its
 * indexes) and follows `LastEvaluatedKey`, so results are complete however large the ledger is.
 */
import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { InvalidInputError, NotFoundError } from '../errors.ts';
import { toFieldProblems } from '../validation.ts';
import type { LedgerLocation } from './append.ts';
import {
  type ApprovalRecorded,
  type DatasetBuilt,
  type DeploymentCompleted,
  type DeploymentRolledBack,
  type DeploymentStarted,
  type EdgeExportFailed,
  type EdgeModelExported,
  type IncidentOpened,
  IsoTimeSchema,
  type LedgerEventOf,
  type LedgerEventType,
  type LedgerRecord,
  type Metrics,
  type ModelEvaluated,
  type ModelRegistered,
  type ReproducibilityManifest,
  type S3ObjectVersion,
  Sha256Schema,
  type TrainingCompleted,
  type TrainingFailed,
  type TrainingStarted,
} from './events.ts';
import { LEDGER_INDEX_NAMES } from './index-names.ts';
import { parseEventItem, toAt } from './items.ts';

/** No ModelRegistered event exists for the model version. */
export class ModelVersionNotFoundError extends NotFoundError {
  override readonly name: string = 'ModelVersionNotFoundError';
}

/** Longest time range one events query may cover, in days (one index partition per day). */
export const MAX_RANGE_DAYS = 366;

/** Reads every item a query returns, page after page. */
export async function* queryAll(
  loc: LedgerLocation,
  input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>,
): AsyncGenerator<Record<string, unknown>> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await loc.client.send(
      new QueryCommand({ ...input, TableName: loc.tableName, ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) yield item;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

/** Every record on one index partition, in time order, ties broken by chain position. */
export async function recordsOn(
  loc: LedgerLocation,
  index: keyof typeof LEDGER_INDEX_NAMES,
  value: string,
): Promise<LedgerRecord[]> {
  const { indexName, partitionKey } = LEDGER_INDEX_NAMES[index];
  const out: LedgerRecord[] = [];
  for await (const item of queryAll(loc, {
    IndexName: indexName,
    KeyConditionExpression: '#k = :v',
    ExpressionAttributeNames: { '#k': partitionKey },
    ExpressionAttributeValues: { ':v': value },
  })) {
    const { canonical: _, ...record } = parseEventItem(item);
    out.push(record);
  }
  return out.sort(byTimeThenSeq);
}

function byTimeThenSeq(a: LedgerRecord, b: LedgerRecord): number {
  const ta = toAt(a.event.time);
  const tb = toAt(b.event.time);
  return ta < tb ? -1 : ta > tb ? 1 : a.seq - b.seq;
}

/** The records of one event type, keeping the record around the narrowed event. */
export function ofType<T extends LedgerEventType>(
  records: readonly LedgerRecord[],
  type: T,
): LedgerRecord<LedgerEventOf<T>>[] {
  return records.filter((r): r is LedgerRecord<LedgerEventOf<T>> => r.event.type === type);
}

/** Where a fact came from: the ledger position of the event that states it. */
export interface EventRef {
  readonly seq: number;
  readonly hash: string;
  readonly eventId: string;
  readonly type: LedgerEventType;
  readonly time: string;
  readonly actor: string;
}

/** The ledger position of a record. */
export function refOf(record: LedgerRecord): EventRef {
  const { eventId, type, time, actor } = record.event;
  return { seq: record.seq, hash: record.hash, eventId, type, time, actor };
}

/** Everything the ledger says produced a model version, and what happened to it since. */
export interface Provenance {
  readonly modelVersion: string;
  readonly useCase: string;
  readonly registered: EventRef & { readonly artifactUri: string; readonly modelPackageArn?: string };
  readonly run: {
    readonly runId: string;
    readonly status: 'started' | 'completed' | 'failed' | 'unknown';
    readonly trigger?: TrainingStarted['trigger'];
    readonly reason?: string;
    readonly started?: EventRef;
    readonly finished?: EventRef;
  };
  readonly dataset: {
    readonly hash: string;
    /** S3 object versions of the snapshot, from the training manifest. */
    readonly objects: readonly S3ObjectVersion[];
    readonly rowCount?: number;
    readonly cutoff?: string;
    readonly built?: EventRef;
  };
  /** The reproducibility manifest of the run (from TrainingCompleted, else TrainingStarted). */
  readonly manifest?: ReproducibilityManifest;
  readonly metrics?: Metrics;
  readonly artifact?: TrainingCompleted['artifact'];
  readonly evaluations: readonly (EventRef &
    Pick<ModelEvaluated, 'metrics' | 'champion' | 'gates' | 'passed'>)[];
  readonly approvals: readonly (EventRef & Pick<ApprovalRecorded, 'approver' | 'decision' | 'reason'>)[];
  readonly deployments: readonly (EventRef &
    Pick<DeploymentStarted | DeploymentCompleted, 'endpointName' | 'deploymentId'>)[];
  readonly rollbacks: readonly (EventRef &
    Pick<DeploymentRolledBack, 'endpointName' | 'reason' | 'restoredModelVersion'>)[];
  readonly incidents: readonly (EventRef & Pick<IncidentOpened, 'incidentId' | 'severity' | 'summary'>)[];
  /** Edge exports of the version (EdgeModelExported or EdgeExportFailed), in time order. */
  readonly edgeExports: readonly EdgeExportView[];
  /** Facts the ledger should hold but does not, for example a run without TrainingCompleted. */
  readonly gaps: readonly string[];
  /** Every record the answer used, in time order. */
  readonly records: readonly LedgerRecord[];
}

/** One edge export attempt of a model version, as provenance shows it. */
export type EdgeExportView = EventRef & {
  readonly passed: boolean;
  /** The gate's verdict, or why no file could be judged. */
  readonly reason: string;
  /** The exported (or refused) file's sha256, when one was built. */
  readonly sha256?: string;
  /** `s3://…/edge/<useCase>/<version>/model.onnx` and its S3 version, when published. */
  readonly model?: S3ObjectVersion;
  readonly manifest?: S3ObjectVersion;
  readonly parity?: EdgeModelExported['parity'];
};

function edgeExportView(r: LedgerRecord<EdgeModelExported | EdgeExportFailed>): EdgeExportView {
  const e = r.event;
  if (e.type === 'EdgeModelExported') {
    return {
      ...refOf(r),
      passed: true,
      reason: e.parity.reason,
      sha256: e.model.sha256,
      model: e.objects.model,
      manifest: e.objects.manifest,
      parity: e.parity,
    };
  }
  return {
    ...refOf(r),
    passed: false,
    reason: e.reason,
    ...(e.file ? { sha256: e.file.sha256 } : {}),
    ...(e.parity ? { parity: e.parity } : {}),
  };
}

/** Query 1: the data, code, config, approvals and deployments behind a model version. */
export async function getProvenance(loc: LedgerLocation, modelVersion: string): Promise<Provenance> {
  const modelRecords = await recordsOn(loc, 'byModel', modelVersion);
  const registered = ofType(modelRecords, 'ModelRegistered')[0];
  if (!registered)
    throw new ModelVersionNotFoundError(`model version ${modelVersion} is not registered in the ledger`);
  const reg: ModelRegistered = registered.event;
  const runRecords = await recordsOn(loc, 'byRun', reg.runId);
  const datasetRecords = await recordsOn(loc, 'byDataset', reg.datasetHash);
  const gaps: string[] = [];

  const started = ofType(runRecords, 'TrainingStarted')[0];
  const completed = ofType(runRecords, 'TrainingCompleted').at(-1);
  const failed = ofType(runRecords, 'TrainingFailed').at(-1);
  const built = ofType(datasetRecords, 'DatasetBuilt')[0];
  if (!started) gaps.push(`no TrainingStarted event for run ${reg.runId}`);
  if (!completed) gaps.push(`no TrainingCompleted event for run ${reg.runId}`);
  if (!built) gaps.push(`no DatasetBuilt event for dataset ${reg.datasetHash}`);
  const manifest = completed?.event.manifest ?? started?.event.manifest;
  if (manifest && manifest.dataset.hash !== reg.datasetHash) {
    gaps.push(
      `the run's manifest names dataset ${manifest.dataset.hash}, the registration ${reg.datasetHash}`,
    );
  }
  const finished: LedgerRecord<TrainingCompleted | TrainingFailed> | undefined = completed ?? failed;

  const evaluations = [...ofType(runRecords, 'ModelEvaluated'), ...ofType(modelRecords, 'ModelEvaluated')]
    .filter((r, i, all) => all.findIndex((o) => o.seq === r.seq) === i)
    .sort(byTimeThenSeq);
  const all = [...modelRecords, ...runRecords, ...datasetRecords]
    .filter((r, i, list) => list.findIndex((o) => o.chain === r.chain && o.seq === r.seq) === i)
    .sort(byTimeThenSeq);

  return {
    modelVersion,
    useCase: reg.useCase,
    registered: {
      ...refOf(registered),
      artifactUri: reg.artifactUri,
      ...(reg.modelPackageArn ? { modelPackageArn: reg.modelPackageArn } : {}),
    },
    run: {
      runId: reg.runId,
      status: completed ? 'completed' : failed ? 'failed' : started ? 'started' : 'unknown',
      ...(started ? { trigger: started.event.trigger, started: refOf(started) } : {}),
      ...(started?.event.reason ? { reason: started.event.reason } : {}),
      ...(finished ? { finished: refOf(finished) } : {}),
    },
    dataset: {
      hash: reg.datasetHash,
      objects: manifest?.dataset.objects ?? built?.event.objects ?? [],
      ...(built ? { rowCount: built.event.rowCount, cutoff: built.event.cutoff, built: refOf(built) } : {}),
    },
    ...(manifest ? { manifest } : {}),
    ...(completed ? { metrics: completed.event.metrics, artifact: completed.event.artifact } : {}),
    evaluations: evaluations.map((r) => ({
      ...refOf(r),
      metrics: r.event.metrics,
      ...(r.event.champion ? { champion: r.event.champion } : {}),
      gates: r.event.gates,
      passed: r.event.passed,
    })),
    approvals: ofType(modelRecords, 'ApprovalRecorded').map((r) => ({
      ...refOf(r),
      approver: r.event.approver,
      decision: r.event.decision,
      reason: r.event.reason,
    })),
    deployments: [
      ...ofType(modelRecords, 'DeploymentStarted'),
      ...ofType(modelRecords, 'DeploymentCompleted'),
    ]
      .sort(byTimeThenSeq)
      .map((r) => ({ ...refOf(r), endpointName: r.event.endpointName, deploymentId: r.event.deploymentId })),
    rollbacks: ofType(modelRecords, 'DeploymentRolledBack').map(rollbackView),
    incidents: ofType(modelRecords, 'IncidentOpened').map(incidentView),
    edgeExports: [...ofType(modelRecords, 'EdgeModelExported'), ...ofType(modelRecords, 'EdgeExportFailed')]
      .sort(byTimeThenSeq)
      .map(edgeExportView),
    gaps,
    records: all,
  };
}

function rollbackView(r: LedgerRecord<DeploymentRolledBack>) {
  return {
    ...refOf(r),
    endpointName: r.event.endpointName,
    reason: r.event.reason,
    ...(r.event.restoredModelVersion ? { restoredModelVersion: r.event.restoredModelVersion } : {}),
  };
}

function incidentView(r: LedgerRecord<IncidentOpened>) {
  return {
    ...refOf(r),
    incidentId: r.event.incidentId,
    severity: r.event.severity,
    summary: r.event.summary,
  };
}

/** The models trained on one dataset. */
export interface DatasetLineage {
  readonly datasetHash: string;
  readonly built?: EventRef & Pick<DatasetBuilt, 'rowCount' | 'cutoff' | 'objects'>;
  readonly runs: readonly (EventRef & { readonly runId: string })[];
  readonly models: readonly (EventRef & {
    readonly modelVersion: string;
    readonly runId: string;
    readonly useCase: string;
  })[];
}

/** Query 2: every run and registered model derived from a dataset. */
export async function modelsFromDataset(loc: LedgerLocation, datasetHash: string): Promise<DatasetLineage> {
  const records = await recordsOn(loc, 'byDataset', datasetHash);
  if (records.length === 0) throw new NotFoundError(`dataset ${datasetHash} has no events in the ledger`);
  const built = ofType(records, 'DatasetBuilt')[0];
  return {
    datasetHash,
    ...(built
      ? {
          built: {
            ...refOf(built),
            rowCount: built.event.rowCount,
            cutoff: built.event.cutoff,
            objects: built.event.objects,
          },
        }
      : {}),
    runs: ofType(records, 'TrainingStarted').map((r) => ({ ...refOf(r), runId: r.event.runId })),
    models: ofType(records, 'ModelRegistered').map((r) => ({
      ...refOf(r),
      modelVersion: r.event.modelVersion,
      runId: r.event.runId,
      useCase: r.event.useCase,
    })),
  };
}

/** What an endpoint served at one instant. */
export interface ServedAt {
  readonly endpointName: string;
  readonly at: string;
  /** The serving model version, or null when nothing had been deployed (or all was rolled back). */
  readonly modelVersion: string | null;
  /** The deployment or rollback event that decided it. */
  readonly decidedBy?: EventRef;
}

/**
 * Query 3: the model version serving `endpointName` at `at`: the latest DeploymentCompleted or
 * DeploymentRolledBack on the endpoint with time <= at (ties broken by chain position).
 */
export async function servedAt(loc: LedgerLocation, endpointName: string, at: string): Promise<ServedAt> {
  const t = toAt(at);
  const { indexName } = LEDGER_INDEX_NAMES.byEndpoint;
  let decisive: LedgerRecord<DeploymentCompleted | DeploymentRolledBack> | undefined;
  // Newest first, stopping once past the decisive event's instant.
  for await (const item of queryAll(loc, {
    IndexName: indexName,
    KeyConditionExpression: 'endpointName = :e AND #at <= :t',
    FilterExpression: '#type IN (:done, :back)',
    ExpressionAttributeNames: { '#at': 'at', '#type': 'type' },
    ExpressionAttributeValues: {
      ':e': endpointName,
      ':t': t,
      ':done': 'DeploymentCompleted',
      ':back': 'DeploymentRolledBack',
    },
    ScanIndexForward: false,
  })) {
    const { canonical: _, ...record } = parseEventItem(item);
    const event = record.event;
    if (event.type !== 'DeploymentCompleted' && event.type !== 'DeploymentRolledBack') continue;
    if (decisive && toAt(event.time) < toAt(decisive.event.time)) break;
    if (!decisive || record.seq > decisive.seq) decisive = { ...record, event };
  }
  if (!decisive) return { endpointName, at: t, modelVersion: null };
  const e = decisive.event;
  const modelVersion = e.type === 'DeploymentCompleted' ? e.modelVersion : (e.restoredModelVersion ?? null);
  return { endpointName, at: t, modelVersion, decidedBy: refOf(decisive) };
}

const CursorSchema = z.strictObject({
  d: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  /** The byDay index's LastEvaluatedKey: table key plus index key. */
  k: z.strictObject({ pk: z.string(), sk: z.string(), day: z.string(), at: z.string() }).optional(),
});

type DayIndexKey = NonNullable<z.infer<typeof CursorSchema>['k']>;

/** One page of events in a time range. */
export interface EventPage {
  readonly records: readonly LedgerRecord[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string;
}

/** Parameters of the events-in-range query. */
export const EventsInRangeSchema = z.strictObject({
  from: IsoTimeSchema,
  to: IsoTimeSchema,
  /** Page size, 1-1000. */
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(4000).optional(),
});
export type EventsInRange = z.input<typeof EventsInRangeSchema>;

function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let d = Date.parse(from.slice(0, 10)); d <= Date.parse(to.slice(0, 10)); d += 86_400_000) {
    days.push(new Date(d).toISOString().slice(0, 10));
  }
  return days;
}

/**
 * Query 4: events with `from <= time <= to`, in time order, a page at a time. Reads one `byDay`
 * partition per calendar day (UTC), so the range is capped at MAX_RANGE_DAYS.
 */
export async function eventsInRange(loc: LedgerLocation, params: EventsInRange): Promise<EventPage> {
  const parsed = EventsInRangeSchema.safeParse(params);
  if (!parsed.success) throw new InvalidInputError('invalid time range', toFieldProblems(parsed.error));
  const { limit, cursor } = parsed.data;
  const from = toAt(parsed.data.from);
  const to = toAt(parsed.data.to);
  if (from > to) {
    throw new InvalidInputError(`from (${from}) is after to (${to})`, [
      { field: 'to', problem: `must not be before from (${from})`, got: JSON.stringify(to) },
    ]);
  }
  const days = daysBetween(from, to);
  if (days.length > MAX_RANGE_DAYS) {
    throw new InvalidInputError(
      `the range covers ${days.length} days; query at most ${MAX_RANGE_DAYS} at a time`,
      [
        {
          field: 'to',
          problem: `must be within ${MAX_RANGE_DAYS} calendar days of from (the range covers ${days.length}); query a shorter range`,
          got: JSON.stringify(to),
        },
      ],
    );
  }
  let dayIndex = 0;
  let startKey: DayIndexKey | undefined;
  if (cursor !== undefined) {
    const decoded = decodeCursor(cursor);
    dayIndex = days.indexOf(decoded.d);
    if (dayIndex < 0 || (decoded.k && decoded.k.day !== decoded.d)) {
      throw new InvalidInputError('cursor does not belong to this time range');
    }
    startKey = decoded.k;
  }
  const records: LedgerRecord[] = [];
  const { indexName } = LEDGER_INDEX_NAMES.byDay;
  while (dayIndex < days.length) {
    const day = days[dayIndex] as string;
    const page = await loc.client.send(
      new QueryCommand({
        TableName: loc.tableName,
        IndexName: indexName,
        KeyConditionExpression: '#day = :d AND #at BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#day': 'day', '#at': 'at' },
        ExpressionAttributeValues: { ':d': day, ':from': from, ':to': to },
        Limit: limit - records.length,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const { canonical: _, ...record } = parseEventItem(item);
      records.push(record);
    }
    startKey = page.LastEvaluatedKey as DayIndexKey | undefined;
    if (!startKey) dayIndex++;
    if (records.length >= limit) break;
  }
  const more = dayIndex < days.length;
  const nextDay = days[dayIndex];
  return {
    records,
    ...(more && nextDay
      ? { nextCursor: encodeCursor({ d: nextDay, ...(startKey ? { k: startKey } : {}) }) }
      : {}),
  };
}

function encodeCursor(c: z.infer<typeof CursorSchema>): string {
  return Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): z.infer<typeof CursorSchema> {
  try {
    return CursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new InvalidInputError('cursor is not one this API returned', [
      { field: 'cursor', problem: 'is malformed' },
    ]);
  }
}

/** Every event in a range, following the pages (for the CLI and export). */
export async function allEventsInRange(
  loc: LedgerLocation,
  from: string,
  to: string,
): Promise<LedgerRecord[]> {
  const out: LedgerRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await eventsInRange(loc, { from, to, limit: 1000, ...(cursor ? { cursor } : {}) });
    out.push(...page.records);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** Incidents and rollbacks of a model version. */
export interface ModelIncidents {
  readonly modelVersion: string;
  readonly incidents: readonly ReturnType<typeof incidentView>[];
  readonly rollbacks: readonly ReturnType<typeof rollbackView>[];
  readonly driftDetections: readonly (EventRef & {
    readonly driftedFeatures: readonly string[];
    readonly driftedShare: number;
  })[];
}

/** Query 5: the incidents opened against a model version and the rollbacks that took it out of service. */
export async function incidentsForModel(loc: LedgerLocation, modelVersion: string): Promise<ModelIncidents> {
  const records = await recordsOn(loc, 'byModel', modelVersion);
  if (records.length === 0)
    throw new ModelVersionNotFoundError(`model version ${modelVersion} has no events in the ledger`);
  return {
    modelVersion,
    incidents: ofType(records, 'IncidentOpened').map(incidentView),
    rollbacks: ofType(records, 'DeploymentRolledBack').map(rollbackView),
    driftDetections: ofType(records, 'DriftDetected').map((r) => ({
      ...refOf(r),
      driftedFeatures: r.event.driftedFeatures,
      driftedShare: r.event.driftedShare,
    })),
  };
}

/** Path and query parameters of the audit routes, parsed at the edge. */
export const ModelVersionParamsSchema = z.strictObject({ modelVersion: z.string().min(1).max(200) });
export const DatasetParamsSchema = z.strictObject({ datasetHash: Sha256Schema });
export const ServedAtParamsSchema = z.strictObject({
  endpointName: z.string().min(1).max(200),
  at: IsoTimeSchema,
});
