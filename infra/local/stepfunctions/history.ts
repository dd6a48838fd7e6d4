/**
 * An execution's history in AWS's HistoryEvent shape. State events come from aws-local-stepfunctions'
 * event log; task events (TaskScheduled, LambdaFunctionStarted...) are recorded by the task handlers.
 */
import { type Json, type PreparedDefinition, readReferencePath } from './definition.ts';

/** One AWS history event: id, previousEventId, timestamp, type and one `<type>EventDetails` field. */
export interface HistoryEvent {
  readonly id: number;
  readonly previousEventId: number;
  readonly timestamp: Date;
  readonly type: string;
  readonly [detailsKey: string]: unknown;
}

const DATA_FIELDS = new Set(['input', 'output', 'inputDetails', 'outputDetails', 'parameters']);

/** The detail field AWS uses for an event type: `TaskStateEntered` → `stateEnteredEventDetails`. */
function detailsKey(type: string): string {
  if (/StateEntered$/.test(type)) return 'stateEnteredEventDetails';
  if (/StateExited$/.test(type)) return 'stateExitedEventDetails';
  return `${type.charAt(0).toLowerCase()}${type.slice(1)}EventDetails`;
}

/** Serializes a value the way the history shows inputs and outputs: as JSON text. */
export function jsonText(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? 'null');
}

/** The events of one execution, in order. */
export class ExecutionHistory {
  private readonly events: HistoryEvent[] = [];

  /** Appends an event and returns its id. */
  add(type: string, details?: Record<string, unknown>): number {
    const id = this.events.length + 1;
    this.events.push({
      id,
      previousEventId: id - 1,
      timestamp: new Date(),
      type,
      ...(details === undefined ? {} : { [detailsKey(type)]: details }),
    });
    return id;
  }

  /** A copy of the events, optionally without inputs and outputs (includeExecutionData: false). */
  list(includeData = true): HistoryEvent[] {
    if (includeData) return [...this.events];
    return this.events.map((event) => {
      const copy: Record<string, unknown> = { ...event };
      for (const [key, value] of Object.entries(event)) {
        if (!key.endsWith('EventDetails') || typeof value !== 'object' || value === null) continue;
        copy[key] = Object.fromEntries(Object.entries(value).filter(([k]) => !DATA_FIELDS.has(k)));
      }
      return copy as HistoryEvent;
    });
  }
}

/** The part of aws-local-stepfunctions' EventLog the translator reads. */
export interface LibraryEvent {
  readonly type: string;
  readonly state?: {
    readonly name: string;
    readonly type: string;
    readonly input: unknown;
    readonly output?: unknown;
  };
  readonly parentState?: { readonly name: string };
  readonly index?: number;
  readonly Error?: string;
  readonly Cause?: unknown;
  readonly output?: unknown;
}

/**
 * Turns the library's events into AWS history events: `StateEntered` of a Task becomes
 * `TaskStateEntered`, a Map gets MapStateStarted/MapStateSucceeded around its iterations, and so on.
 * Execution start, end and abort are recorded by the execution itself.
 */
export class HistoryTranslator {
  private readonly failed = new Set<string>();

  constructor(
    private readonly history: ExecutionHistory,
    private readonly definition: PreparedDefinition,
  ) {}

  translate(event: LibraryEvent): void {
    const state = event.state;
    const key = `${state?.name ?? ''}#${event.index ?? ''}`;
    switch (event.type) {
      case 'StateEntered': {
        if (!state) return;
        const type = this.definition.stateTypes.get(state.name) ?? state.type;
        this.failed.delete(key);
        this.history.add(`${type}StateEntered`, {
          name: state.name,
          input: jsonText(state.input),
          inputDetails: { truncated: false },
        });
        if (type === 'Map') {
          const length = this.mapLength(state.name, state.input);
          this.history.add('MapStateStarted', length === undefined ? {} : { length });
        }
        if (type === 'Parallel') this.history.add('ParallelStateStarted');
        return;
      }
      case 'StateExited': {
        if (!state) return;
        const type = this.definition.stateTypes.get(state.name) ?? state.type;
        if ((type === 'Map' || type === 'Parallel') && !this.failed.has(key))
          this.history.add(`${type}StateSucceeded`);
        this.history.add(`${type}StateExited`, {
          name: state.name,
          output: jsonText(state.output ?? null),
          outputDetails: { truncated: false },
        });
        return;
      }
      case 'StateFailed': {
        if (!state) return;
        const type = this.definition.stateTypes.get(state.name) ?? state.type;
        if (type === 'Map' || type === 'Parallel') {
          this.failed.add(key);
          this.history.add(`${type}StateFailed`);
        }
        return;
      }
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
        this.history.add(event.type, { name: event.parentState?.name ?? '', index: event.index ?? 0 });
        return;
      case 'ExecutionTimeout':
        this.history.add('ExecutionTimedOut', {
          error: 'States.Timeout',
          cause: 'The execution ran longer than its TimeoutSeconds.',
        });
        return;
      default:
        // ExecutionStarted/Succeeded/Failed/Aborted are recorded by the execution; branch events
        // and retries have no AWS counterpart (a retry shows as a new TaskScheduled).
        return;
    }
  }

  private mapLength(name: string, input: unknown): number | undefined {
    const info = this.definition.maps.get(name);
    if (!info || info.inputPath === null) return undefined;
    const effective =
      info.inputPath === undefined ? (input as Json) : readReferencePath(info.inputPath, input as Json);
    if (effective === undefined) return undefined;
    const items = info.itemsPath === undefined ? effective : readReferencePath(info.itemsPath, effective);
    return Array.isArray(items) ? items.length : undefined;
  }
}
