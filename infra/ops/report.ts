/**
 * The HTML report of a use case: reads the facts from one chain of the ledger (the endpoint's
 * events, what it serves, the provenance of each version it saw), the monitor's full reports from
 * S3 and the chain's head and verification, then writes one self-contained page. Used by `mlops report` and
 * the demo, against the local cloud or AWS alike; it only reads.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { UseCase } from '../../shared/config/use-case.ts';
import { endpointNameOf } from '../../shared/deployment/names.ts';
import { type LedgerLocation, readHead } from '../../shared/ledger/append.ts';
import type { LedgerRecord, MonitoringReport } from '../../shared/ledger/events.ts';
import { chainPk, DEFAULT_CHAIN } from '../../shared/ledger/items.ts';
import {
  getProvenance,
  ModelVersionNotFoundError,
  ofType,
  type Provenance,
  recordsOn,
  servedAt,
} from '../../shared/ledger/queries.ts';
import { kmsSignatureChecker } from '../../shared/ledger/signing.ts';
import { verifyLedger } from '../../shared/ledger/verify.ts';
import { ReportDistributionsSchema } from '../../shared/monitoring/report.ts';
import { parseS3Uri, readText } from '../../shared/s3.ts';
import { formatProblems, toFieldProblems } from '../../shared/validation.ts';
import { loadUseCases } from '../config/use-cases.ts';
import { renderReportHtml } from '../report/html.ts';
import {
  type LedgerStatus,
  type ReportData,
  type ReportFacts,
  reportData,
  reportsToDraw,
  type StoredDistributions,
} from '../report/model.ts';
import { documentClientFor, kmsClientFor, s3ClientFor, type Target } from './target.ts';

/** The use case named is not one of `use-cases/`. */
export class UnknownUseCaseError extends Error {
  override readonly name: string = 'UnknownUseCaseError';
}

/** How a report is gathered. */
export interface ReportOptions {
  /**
   * The use case's configuration (for its quality floors).
   * @default - loaded from `use-cases/` by name
   */
  readonly config?: UseCase;
  /**
   * The ledger chain the report reads: its facts, its citations (by seq) and its head.
   * @default 'main'
   */
  readonly chain?: string;
  /**
   * Recompute the hash chain and check its signatures, when the target names the signing key.
   * @default true
   */
  readonly verify?: boolean;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** What `writeReport` drew, per section, for a caller to print. */
export interface ReportSummary {
  readonly path: string;
  readonly servingVersion: string | null;
  readonly sections: {
    /** Feature (and score) checks drawn, and how many of them have a distribution chart. */
    readonly drift: { readonly reports: number; readonly checks: number; readonly charts: number };
    readonly quality: { readonly points: number };
    readonly timeline: { readonly events: number; readonly servingSpans: number };
    readonly lineage: { readonly nodes: number; readonly edges: number };
  };
  readonly ledger: LedgerStatus;
}

async function useCaseConfig(name: string, given: UseCase | undefined): Promise<UseCase> {
  if (given) return given;
  const all = await loadUseCases();
  const found = all.find((u) => u.name === name);
  if (!found) {
    throw new UnknownUseCaseError(
      `no use case named ${JSON.stringify(name)} in use-cases/; known: ${all.map((u) => u.name).join(', ')}`,
    );
  }
  return found;
}

/** The full report a MonitoringReport names, read from S3: its distributions, or why there are none. */
async function storedDistributions(s3: S3Client, event: MonitoringReport): Promise<StoredDistributions> {
  if (!event.reportUri) return { error: 'no reportUri' };
  let raw: unknown;
  try {
    raw = JSON.parse(await readText(s3, parseS3Uri(event.reportUri)));
  } catch (e) {
    return { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
  const distributions = (raw as { distributions?: unknown } | null)?.distributions;
  if (distributions === undefined) return { error: 'it holds no distributions' };
  const parsed = ReportDistributionsSchema.safeParse(distributions);
  if (!parsed.success) {
    return { error: `its distributions are not valid: ${formatProblems(toFieldProblems(parsed.error), '')}` };
  }
  return { distributions: parsed.data };
}

/**
 * `client` with every Query answer cut to the items of `chain`. The audit queries read indexes
 * that hold all chains; the report shows one, and cites its events by their seq on it, so an
 * event of another chain would be a fact the chain does not state, cited at someone else's seq.
 */
export function chainScopedClient(client: DynamoDBDocumentClient, chain: string): DynamoDBDocumentClient {
  const pk = chainPk(chain);
  const send = client.send.bind(client) as (...args: unknown[]) => Promise<unknown>;
  const scopedSend = async (...args: unknown[]): Promise<unknown> => {
    const out = await send(...args);
    if (!(args[0] instanceof QueryCommand)) return out;
    const page = out as QueryCommandOutput;
    if (!page.Items) return page;
    const Items = page.Items.filter((item) => item.pk === pk);
    return { ...page, Items, Count: Items.length };
  };
  return new Proxy(client, {
    get: (target, property, receiver) =>
      property === 'send' ? scopedSend : Reflect.get(target, property, receiver),
  });
}

async function ledgerStatus(target: Target, loc: LedgerLocation, verify: boolean): Promise<LedgerStatus> {
  const head = await readHead(loc);
  const base = { table: loc.tableName, chain: loc.chain ?? DEFAULT_CHAIN, ...(head ? { head } : {}) };
  if (!verify)
    return { ...base, verification: { status: 'not-checked', detail: 'verification not asked for' } };
  if (!target.signingKey) {
    return {
      ...base,
      verification: {
        status: 'not-checked',
        detail: 'no signing key named (set MLOPS_LEDGER_SIGNING_KEY to verify)',
      },
    };
  }
  const kms = kmsClientFor(target);
  try {
    const report = await verifyLedger({
      ...loc,
      signatures: await kmsSignatureChecker(kms, target.signingKey),
    });
    return {
      ...base,
      verification: report.ok
        ? {
            status: 'verified',
            detail: `${report.eventsChecked} event${report.eventsChecked === 1 ? '' : 's'} chained and signed`,
          }
        : {
            status: 'broken',
            detail: `first bad link at #${report.problem?.seq}: ${report.problem?.kind}: ${report.problem?.message}`,
          },
    };
  } catch (e) {
    // Without kms:GetPublicKey the report still stands; it says why the chain was not checked.
    return {
      ...base,
      verification: {
        status: 'not-checked',
        detail: `could not verify: ${e instanceof Error ? e.message : String(e)}`,
      },
    };
  } finally {
    kms.destroy();
  }
}

/** Reads what the report of `useCase` on `stage` shows. */
export async function gatherReport(
  target: Target,
  useCase: string,
  stage: string,
  options: ReportOptions = {},
): Promise<ReportData> {
  if (!target.ledgerTable) throw new Error('no ledger table: pass --table or set MLOPS_LEDGER_TABLE');
  const config = await useCaseConfig(useCase, options.config);
  const generatedAt = (options.now ?? (() => new Date()))().toISOString();
  const endpointName = endpointNameOf(stage, useCase);
  const client = documentClientFor(target);
  const s3 = s3ClientFor(target);
  try {
    const chain = options.chain ?? DEFAULT_CHAIN;
    const loc: LedgerLocation = { client, tableName: target.ledgerTable, chain };
    // Every fact query below reads through the chain-scoped client; the head and verify read the chain itself.
    const factsLoc: LedgerLocation = { ...loc, client: chainScopedClient(client, chain) };
    const endpointRecords = (await recordsOn(factsLoc, 'byEndpoint', endpointName)).filter(
      (r) => r.event.useCase === useCase,
    );
    const served = await servedAt(factsLoc, endpointName, generatedAt);
    const versions = new Set<string>();
    for (const r of endpointRecords) {
      const e = r.event as { readonly modelVersion?: string; readonly restoredModelVersion?: string };
      if (e.modelVersion) versions.add(e.modelVersion);
      if (e.restoredModelVersion) versions.add(e.restoredModelVersion);
    }
    if (served.modelVersion) versions.add(served.modelVersion);
    const provenances: Provenance[] = [];
    for (const v of versions) {
      try {
        provenances.push(await getProvenance(factsLoc, v));
      } catch (e) {
        if (!(e instanceof ModelVersionNotFoundError)) throw e;
      }
    }
    const stored = new Map<string, StoredDistributions>();
    const reports: LedgerRecord<MonitoringReport>[] = ofType(endpointRecords, 'MonitoringReport');
    for (const r of reportsToDraw(reports, served.modelVersion)) {
      stored.set(r.event.eventId, await storedDistributions(s3, r.event));
    }
    const facts: ReportFacts = {
      useCase: config,
      stage,
      endpointName,
      generatedAt,
      ledger: await ledgerStatus(target, loc, options.verify ?? true),
      endpointRecords,
      served,
      provenances,
      stored,
    };
    return reportData(facts);
  } finally {
    client.destroy();
    s3.destroy();
  }
}

/** What a report drew, counted per section. */
export function summarize(data: ReportData, path: string): ReportSummary {
  const checks = data.drift.reports.flatMap((r) => r.checks);
  return {
    path,
    servingVersion: data.serving.modelVersion,
    sections: {
      drift: {
        reports: data.drift.reports.length,
        checks: checks.length,
        charts: checks.filter((c) => c.chart).length,
      },
      quality: { points: data.quality.points.length },
      timeline: { events: data.timeline.items.length, servingSpans: data.timeline.serving.length },
      lineage: { nodes: data.lineage.nodes.length, edges: data.lineage.edges.length },
    },
    ledger: data.ledger,
  };
}

/**
 * Writes the HTML report of `useCase` on `stage` to `out` (folders created), reading from
 * `target`; returns the absolute path and what each section drew.
 */
export async function writeReport(
  target: Target,
  useCase: string,
  stage: string,
  out: string,
  options: ReportOptions = {},
): Promise<ReportSummary> {
  const data = await gatherReport(target, useCase, stage, options);
  const path = resolve(out);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderReportHtml(data));
  return summarize(data, path);
}
