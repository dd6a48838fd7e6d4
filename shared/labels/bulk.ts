/**
 * Bulk label files: `ingest-labels/<useCase>/<name>.csv|jsonl` in the datasets bucket, validated
 * and written in chunks by the same core as bulk feature files. Rejects and a summary go to
 * `quarantine-labels/<useCase>/<name>.rejected.jsonl` and `.summary.json`.
 *
 * A CSV's columns are the JSON fields' paths: `eventTime`, `label`, `entities.<feature group>`
 * and `request.<request feature>`; an empty cell is null. A column that is none of these is
 * rejected as an unknown field, as it would be in JSON.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { type BulkCounts, csvCell, ingestBulkRows, parseDropKey } from '../features/bulk.ts';
import { LABEL_DROP_PREFIX, LABEL_QUARANTINE_PREFIX, type LabelContract } from './schema.ts';
import { type LabelResult, type LabelStoreContext, validateLabels, writeLabels } from './store.ts';

/** Summary written next to the quarantine file of a label file. */
export interface LabelBulkSummary extends BulkCounts<LabelResult['outcome']> {
  readonly useCase: string;
}

/** The label event a CSV row describes (all cells are strings until typed here). */
export function csvRowToLabel(contract: LabelContract, row: Record<string, string>): unknown {
  const requestTypes = new Map(contract.requestFeatures.map((f) => [f.name, f.type]));
  const event: Record<string, unknown> = {};
  const entities: Record<string, unknown> = {};
  const request: Record<string, unknown> = {};
  for (const [column, text] of Object.entries(row)) {
    if (column.startsWith('entities.')) {
      // An empty cell names no entity: reported as a missing ID, as an absent JSON field would be.
      if (text !== '') entities[column.slice('entities.'.length)] = text;
    } else if (column.startsWith('request.')) {
      const name = column.slice('request.'.length);
      request[name] = csvCell(requestTypes.get(name), text);
    } else if (column === 'label') event.label = csvCell('integer', text);
    else event[column] = text;
  }
  return { ...event, entities, request };
}

/** Ingests one bulk label file; returns (and stores) its summary. */
export function ingestLabelFile(
  ctx: LabelStoreContext,
  contracts: ReadonlyMap<string, LabelContract>,
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<LabelBulkSummary> {
  const { target: useCase, name, format } = parseDropKey(LABEL_DROP_PREFIX, key);
  const contract = contracts.get(useCase);
  return ingestBulkRows<LabelResult['outcome'], LabelBulkSummary>(
    {
      s3,
      bucket,
      key,
      format,
      quarantineKey: `${LABEL_QUARANTINE_PREFIX}${useCase}/${name}.rejected.jsonl`,
      summaryKey: `${LABEL_QUARANTINE_PREFIX}${useCase}/${name}.summary.json`,
      outcomeNames: ['written', 'duplicate'],
      target: contract
        ? {
            csvRow: (row) => csvRowToLabel(contract, row),
            write: async (values) => {
              const { accepted, rejected } = validateLabels(contract, values, ctx.now);
              const results = await writeLabels(ctx, contract, accepted);
              return { acceptedCount: accepted.length, rejected, outcomes: results.map((r) => r.outcome) };
            },
          }
        : {
            refuse: {
              field: 'useCase',
              problem: `unknown use case '${useCase}'; known use cases: ${[...contracts.keys()].join(', ')}`,
            },
          },
    },
    (counts) => ({ ...counts, useCase }),
  );
}
