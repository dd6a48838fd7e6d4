/** How the monitor appends: events whose IDs come from the window, so a repeated check keeps the first. */
import { appendEvent, EventIdConflictError, type LedgerWriter, recordedEvent } from '../ledger/append.ts';
import type { LedgerEvent } from '../ledger/events.ts';

/** Appends an event whose eventId is derived from the window; a repeat keeps the first event. */
export async function appendForWindow<E extends LedgerEvent>(
  ledger: LedgerWriter,
  event: E,
): Promise<{ outcome: 'appended' | 'recorded-earlier'; event: E }> {
  try {
    const r = await appendEvent(ledger, event);
    return { outcome: r.created ? 'appended' : 'recorded-earlier', event };
  } catch (e) {
    if (!(e instanceof EventIdConflictError)) throw e;
    const stored = await recordedEvent(ledger, ledger.chain ?? 'main', event.eventId);
    if (!stored || stored.record.event.type !== event.type) throw e;
    return { outcome: 'recorded-earlier', event: stored.record.event as E };
  }
}
