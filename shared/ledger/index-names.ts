/**
 * The ledger's global secondary indexes, one per audit query. Shared by the queries and by
 * `LedgerTable` (infra), so the table and the code that reads it cannot drift apart.
 */
export const LEDGER_INDEX_NAMES = {
  byModel: { indexName: 'byModel', partitionKey: 'modelVersion', sortKey: 'at' },
  byDataset: { indexName: 'byDataset', partitionKey: 'datasetHash', sortKey: 'at' },
  byEndpoint: { indexName: 'byEndpoint', partitionKey: 'endpointName', sortKey: 'at' },
  byRun: { indexName: 'byRun', partitionKey: 'runId', sortKey: 'at' },
  byDay: { indexName: 'byDay', partitionKey: 'day', sortKey: 'at' },
} as const;
