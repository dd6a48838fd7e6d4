/**
 * Point-in-time rolling aggregates. An outcome counts only from the moment it became known (a
 * flight's delay is known when it actually leaves, not when it was scheduled), so a value emitted
 * at time T never uses information from after T. Both training (offline store) and serving
 * (online store) read the records this produces, so they cannot disagree.
 */

/** One observed outcome for an entity. */
export interface Outcome {
  readonly entityId: string;
  /** Epoch ms at which the outcome became known. */
  readonly knownAt: number;
  readonly positive: boolean;
}

/** The window value emitted for one entity at one boundary. */
export interface WindowValue {
  readonly entityId: string;
  /** Epoch ms of the boundary; the value uses outcomes known in (at - window, at]. */
  readonly at: number;
  /** Share of positive outcomes in the window; null when the window is empty. */
  readonly rate: number | null;
  readonly count: number;
}

/** A binary min-heap on `knownAt`, so outcomes can arrive in any order within the lookahead. */
class OutcomeHeap {
  private readonly items: Outcome[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Outcome | undefined {
    return this.items[0];
  }
  push(o: Outcome): void {
    const a = this.items;
    a.push(o);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = a[p];
      const child = a[i];
      if (!parent || !child || parent.knownAt <= child.knownAt) break;
      a[p] = child;
      a[i] = parent;
      i = p;
    }
  }
  pop(): Outcome | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if ((a[l]?.knownAt ?? Number.POSITIVE_INFINITY) < (a[m]?.knownAt ?? Number.POSITIVE_INFINITY)) m = l;
        if ((a[r]?.knownAt ?? Number.POSITIVE_INFINITY) < (a[m]?.knownAt ?? Number.POSITIVE_INFINITY)) m = r;
        if (m === i) break;
        const x = a[i];
        const y = a[m];
        if (!x || !y) break;
        a[i] = y;
        a[m] = x;
        i = m;
      }
    }
    return top;
  }
}

export interface RollingRateOptions {
  /** Window length in ms (for example 2 hours). */
  readonly windowMs: number;
  /** Distance between emitted boundaries in ms (for example 15 minutes). */
  readonly stepMs: number;
}

/**
 * Emits, at every boundary, the rolling positive rate of each entity that had outcomes in the
 * window. `events` must be ordered by `observedAt` (when the event entered the stream, e.g. the
 * scheduled time); each event's outcome is known at `knownAt >= observedAt`.
 */
export async function* rollingRate(
  events: AsyncIterable<{ readonly observedAt: number; readonly outcome: Outcome }>,
  options: RollingRateOptions,
): AsyncGenerator<WindowValue> {
  const pending = new OutcomeHeap();
  const windows = new Map<string, Outcome[]>();
  let boundary: number | undefined;

  function* emit(at: number): Generator<WindowValue> {
    for (let next = pending.peek(); next && next.knownAt <= at; next = pending.peek()) {
      pending.pop();
      const list = windows.get(next.entityId) ?? [];
      list.push(next);
      windows.set(next.entityId, list);
    }
    for (const [entityId, list] of windows) {
      // Outcomes are appended in knownAt order, so expired ones are at the front.
      let drop = 0;
      while (drop < list.length && (list[drop]?.knownAt ?? 0) <= at - options.windowMs) drop++;
      if (drop > 0) list.splice(0, drop);
      const positives = list.reduce((n, o) => n + (o.positive ? 1 : 0), 0);
      yield { entityId, at, rate: list.length === 0 ? null : positives / list.length, count: list.length };
      if (list.length === 0) windows.delete(entityId);
    }
  }

  let last = Number.NEGATIVE_INFINITY;
  for await (const e of events) {
    if (e.observedAt < last)
      throw new Error(`events must be ordered by observedAt: ${e.observedAt} came after ${last}`);
    last = e.observedAt;
    if (e.outcome.knownAt < e.observedAt) throw new Error('an outcome cannot be known before it is observed');
    boundary ??= Math.floor(e.observedAt / options.stepMs) * options.stepMs;
    // Every event observed at or before a boundary has been read, so that boundary can be emitted.
    while (e.observedAt > boundary) {
      yield* emit(boundary);
      boundary += options.stepMs;
    }
    pending.push(e.outcome);
  }
  if (boundary !== undefined) {
    yield* emit(boundary);
    // Drain: outcomes still pending become known at later boundaries.
    while (pending.size > 0 || windows.size > 0) {
      boundary += options.stepMs;
      yield* emit(boundary);
    }
  }
}
