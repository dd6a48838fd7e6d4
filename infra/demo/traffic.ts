/**
 * Live traffic from past flights, through the API as an application would send it: the flights of
 * a period replayed in time order, each airport's delay features written to the online store as
 * they stood at the flight's departure (stamped now, so they are fresh), then the prediction, and
 * later each flight's real outcome as feedback quoting the requestId. What the monitor then sees
 * is that period's traffic, feature for feature.
 */
import pMap from 'p-map';
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
  /** Clients that sent predictions side by side. */
  readonly concurrency: number;
  readonly feedback: { readonly stored: number; readonly failures: number };
}

/**
 * Every `step`-th flight of the slice that `exclude` lets through, in time order, at most
 * `count`; `all` is every flight of the slice (the features come from all of them).
 */
export async function sampleFlights(
  slice: FlightSlice,
  count: number,
  exclude: (f: Flight) => boolean = () => false,
): Promise<{ all: Flight[]; sample: Flight[] }> {
  const all: Flight[] = [];
  for await (const f of fromAirports(readFlights(slice.from, slice.to), new Set(slice.airports))) all.push(f);
  const eligible = all.filter((f) => !exclude(f));
  const step = Math.max(1, Math.floor(eligible.length / count));
  return { all, sample: eligible.filter((_, i) => i % step === 0).slice(0, count) };
}

/**
 * Replays `count` flights of `slice` through `POST /predict/<useCase>`, with each airport's
 * features as of the flight, then sends every answered flight's outcome to `POST /feedback`.
 * Each origin airport's flights go out in time order from one client (its feature writes must
 * precede its predictions); `concurrency` clients run side by side, as live traffic would, and
 * feedback goes out as many at a time. More clients than cores only queues in the local Lambda.
 */
export async function replayFlights(
  api: (path: string) => string,
  useCase: string,
  slice: FlightSlice,
  count: number,
  options: {
    readonly concurrency?: number;
    /** The region requests are signed for: the API's (the local cloud's placement). */
    readonly region?: string;
    /** Flights not to replay, for example the ones already labelled for training. */
    readonly exclude?: (f: Flight) => boolean;
  } = {},
): Promise<Replay> {
  const concurrency = options.concurrency ?? 3;
  const sign = { region: options.region ?? 'us-east-1' };
  const { all, sample } = await sampleFlights(slice, count, options.exclude);
  async function* replay() {
    yield* all;
  }
  const records: AirportDelayRecord[] = [];
  for await (const r of airportDelayRecords(replay())) records.push(r);
  // Each flight with the airport's record as of its departure (none before its first window closes).
  let next = 0;
  const asOf = new Map<string, AirportDelayRecord>();
  const byAirport = new Map<string, { flight: Flight; airport: AirportDelayRecord }[]>();
  for (const f of sample) {
    while (next < records.length && Date.parse(records[next]?.eventTime ?? '') <= f.time) {
      const r = records[next++];
      if (r) asOf.set(r.entityId, r);
    }
    const airport = asOf.get(f.origin);
    if (!airport) continue;
    byAirport.set(f.origin, [...(byAirport.get(f.origin) ?? []), { flight: f, airport }]);
  }
  const served: ServedFlight[] = [];
  const latenciesMs: number[] = [];
  let failures = 0;
  const start = new Date().toISOString();
  await pMap(
    [...byAirport.entries()],
    async ([origin, flights]) => {
      let written: AirportDelayRecord | undefined;
      for (const { flight, airport } of flights) {
        if (written !== airport) {
          const res = await signedFetch(
            api(`/features/airport-delays/${origin}`),
            'PUT',
            { eventTime: new Date().toISOString(), values: airport.values },
            sign,
          );
          if (res.status !== 200) throw new Error(`PUT /features/airport-delays/${origin}: ${res.status}`);
          written = airport;
        }
        const { entities, request, label } = flightLabel(flight);
        const t0 = performance.now();
        const res = await signedFetch(api(`/predict/${useCase}`), 'POST', { entities, request }, sign);
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
    },
    { concurrency },
  );
  const end = new Date(Date.now() + 1).toISOString();
  // The outcomes arrive later, through the documented feedback path.
  const observedAt = new Date().toISOString();
  let stored = 0;
  let feedbackFailures = 0;
  await pMap(
    served,
    async (s) => {
      const res = await signedFetch(
        api(`/feedback/${useCase}`),
        'POST',
        { requestId: s.requestId, label: s.label, observedAt },
        sign,
      );
      const body = (await res.json()) as { outcome?: string };
      if (res.status === 200 && body.outcome === 'written') stored++;
      else feedbackFailures++;
    },
    { concurrency },
  );
  return {
    window: { start, end },
    served,
    failures,
    latenciesMs,
    concurrency: Math.min(concurrency, byAirport.size),
    feedback: { stored, failures: feedbackFailures },
  };
}
