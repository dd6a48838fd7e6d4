import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendOnce, RunEventMismatchError } from '../../../shared/pipeline/ledger.ts';
import { type LedgerDb, startLedgerDb } from '../../support/ledger-table.ts';

let db: LedgerDb;
beforeAll(async () => {
  db = await startLedgerDb();
});
afterAll(async () => {
  await db?.stop();
});

const failed = (time: string, reason: string) => ({
  type: 'TrainingFailed' as const,
  eventId: 'run-1-training-failed',
  actor: 'pipeline/RecordFailure',
  time,
  useCase: 'flight-delay',
  runId: 'run-1',
  step: 'Train',
  reason,
});

describe('appendOnce (a retried pipeline step)', () => {
  it('treats the same facts at a later time as already recorded, and different facts as an error', async () => {
    const ledger = db.ledger(await db.createLedgerTable('ledger-once'));
    expect((await appendOnce(ledger, failed('2026-01-01T00:00:00.000Z', 'AlgorithmError: x'))).outcome).toBe(
      'appended',
    );
    expect((await appendOnce(ledger, failed('2026-01-01T00:05:00.000Z', 'AlgorithmError: x'))).outcome).toBe(
      'recorded-earlier',
    );
    await expect(
      appendOnce(ledger, failed('2026-01-01T00:06:00.000Z', 'AlgorithmError: y')),
    ).rejects.toBeInstanceOf(RunEventMismatchError);
  });
});
