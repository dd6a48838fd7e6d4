/**
 * Live traffic from past flights, through the API as an application would send it: the flights of
 * a period replayed in time order, each airport's delay features written to the online store as
 * they stood at the flight's departure (stamped now, so they are fresh), then the prediction, and
 * later each flight's real outcome as feedback quoting the requestId. What the monitor then sees
 * is that period's traffic, feature for feature.
 */
import { signedFetch } from '../local/sigv4.ts';
import {
  type AirportDelayRecord,
  airportDelayRecords,
  type Flight,
  flightLabel,
  fromAirports,
  readFlights,
} from './flights.ts';
import type { FlightSlice } from './seed.ts';

/** One answered prediction, with the flight's real outcome. */
export interface ServedFlight {
  readonly requestId: string;
  readonly score: number;
  readonly modelVersion: string;
  readonly label: 0 | 1;
}

/** What a replay sent and got back. */
export interface Replay {
  /** When the first request left and the last answer came back: the window to monitor. */
  readonly window: { readonly start: string; readonly end: string };
  readonly served: readonly ServedFlight[];
  readonly failures: number;
  /** Milliseconds per prediction, client side. */
  readonly latenciesMs: readonly number[];
  readonly feedback: { readonly stored: number; readonly failures: number };
}

/** Every `step`-th flight of the slice, in time order, at most `count`. */
export async function sampleFlights(
  slice: FlightSlice,
  count: number,
): Promise<{ all: Flight[]; sample: Flight[] }> {
  const all: Flight[] = [];
  for await (const f of fromAirports(readFlights(slice.from, slice.to), new Set(slice.airports))) all.push(f);
  const step = Math.max(1, Math.floor(all.length / count));
  return { all, sample: all.filter((_, i) => i % step === 0).slice(0, count) };
}

/**
 * Replays `count` flights of `slice` through `POST /predict/<useCase>`, with each airport's
 * features as of the flight, then sends every answered flight's outcome to `POST /feedback`.
 */
export async function replayFlights(
  api: (path: string) => string,
  useCase: string,
  slice: FlightSlice,
  count: number,
): Promise<Replay> {
  const { all, sample } = await sampleFlights(slice, count);
  async function* replay() {
    yield* all;
  }
  const records: AirportDelayRecord[] = [];
  for await (const r of airportDelayRecords(replay())) records.push(r);
  let next = 0;
  const asOf = new Map<string, AirportDelayRecord>();
  const written = new Map<string, AirportDelayRecord>();
  const served: ServedFlight[] = [];
  const latenciesMs: number[] = [];
  let failures = 0;
  const start = new Date().toISOString();
  for (const f of sample) {
    while (next < records.length && Date.parse(records[next]?.eventTime ?? '') <= f.time) {
      const r = records[next++];
      if (r) asOf.set(r.entityId, r);
    }
    const airport = asOf.get(f.origin);
    // Before its airport's first 2-hour window closes there is no feature value to serve with.
    if (!airport) continue;
    if (written.get(f.origin) !== airport) {
      const res = await signedFetch(api(`/features/airport-delays/${f.origin}`), 'PUT', {
        eventTime: new Date().toISOString(),
        values: airport.values,
      });
      if (res.status !== 200) throw new Error(`PUT /features/airport-delays/${f.origin}: ${res.status}`);
      written.set(f.origin, airport);
    }
    const { entities, request, label } = flightLabel(f);
    const t0 = performance.now();
    const res = await signedFetch(api(`/predict/${useCase}`), 'POST', { entities, request });
    latenciesMs.push(performance.now() - t0);
    const body = (await res.json()) as { requestId?: string; score?: number; modelVersion?: string };
    if (res.status !== 200 || !body.requestId) {
      failures++;
      continue;
    }
    served.push({
      requestId: body.requestId,
      score: Number(body.score),
      modelVersion: String(body.modelVersion),
      label,
    });
  }
  const end = new Date(Date.now() + 1).toISOString();
  // The outcomes arrive later, through the documented feedback path.
  const observedAt = new Date().toISOString();
  let stored = 0;
  let feedbackFailures = 0;
  for (const s of served) {
    const res = await signedFetch(api(`/feedback/${useCase}`), 'POST', {
      requestId: s.requestId,
      label: s.label,
      observedAt,
    });
    const body = (await res.json()) as { outcome?: string };
    if (res.status === 200 && body.outcome === 'written') stored++;
    else feedbackFailures++;
  }
  return {
    window: { start, end },
    served,
    failures,
    latenciesMs,
    feedback: { stored, failures: feedbackFailures },
  };
}
