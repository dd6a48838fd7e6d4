/**
 * Reads an ASL definition once per state machine: finds every Task state (at any depth: Map
 * ItemProcessor/Iterator and Parallel branches), and derives the copy that aws-local-stepfunctions
 * runs, with time scaled for tests and the library's 60-second default task timeout lifted.
 */

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** A Task state as the service needs it at run time. */
export interface TaskStateInfo {
  readonly name: string;
  readonly resource: string;
  /** The Parameters template, for the TaskScheduled event. */
  readonly parameters?: Json;
  readonly timeoutSeconds?: number;
  readonly heartbeatSeconds?: number;
}

/** A Wait state whose duration is read at run time, run by the service instead of the library. */
export interface DynamicWait {
  readonly name: string;
  readonly secondsPath?: string;
  readonly timestampPath?: string;
  readonly timestamp?: string;
}

/** What the library needs to know about a Map state to report MapStateStarted's length. */
export interface MapStateInfo {
  readonly inputPath?: string | null;
  readonly itemsPath?: string;
}

/** A definition ready to run. */
export interface PreparedDefinition {
  /** The definition the library runs (scaled, timeouts lifted, dynamic waits turned into tasks). */
  readonly runtime: JsonObject;
  readonly tasks: ReadonlyMap<string, TaskStateInfo>;
  readonly waits: ReadonlyMap<string, DynamicWait>;
  readonly maps: ReadonlyMap<string, MapStateInfo>;
  /** The original Type of every state, by name (state names are unique in a whole state machine). */
  readonly stateTypes: ReadonlyMap<string, string>;
}

/** Resource of the Task that stands in for a dynamic Wait state. */
export const LOCAL_WAIT_RESOURCE = 'arn:aws:states:::local:wait';

/** setTimeout's ceiling: larger delays fire at once (Node's TimeoutOverflowWarning). */
export const MAX_TIMER_SECONDS = 2_147_483;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(value: Json | undefined): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function scaleRetriers(state: JsonObject, scale: number): void {
  const retry = state.Retry;
  if (scale === 1 || !Array.isArray(retry)) return;
  for (const retrier of retry) {
    if (!isObject(retrier)) continue;
    retrier.IntervalSeconds = (num(retrier.IntervalSeconds) ?? 1) * scale;
    const maxDelay = num(retrier.MaxDelaySeconds);
    if (maxDelay !== undefined) retrier.MaxDelaySeconds = maxDelay * scale;
  }
}

/** Parses and prepares a definition; throws with the state name on anything the service cannot run. */
export function prepareDefinition(definitionText: string, scale: number): PreparedDefinition {
  const parsed: unknown = JSON.parse(definitionText);
  if (!isObject(parsed)) throw new Error('the state machine definition is not a JSON object');
  if (parsed.QueryLanguage === 'JSONata') {
    throw new Error(
      'JSONata state machines are not supported locally (aws-local-stepfunctions ignores JSONata); use JSONPath',
    );
  }
  const runtime: JsonObject = structuredClone(parsed);
  const tasks = new Map<string, TaskStateInfo>();
  const waits = new Map<string, DynamicWait>();
  const maps = new Map<string, MapStateInfo>();
  const stateTypes = new Map<string, string>();

  const visit = (machine: JsonObject): void => {
    const states = machine.States;
    if (!isObject(states)) throw new Error('a state machine (or branch, or item processor) has no States');
    for (const [name, state] of Object.entries(states)) {
      if (!isObject(state)) continue;
      const type = str(state.Type) ?? '';
      stateTypes.set(name, type);
      if (state.QueryLanguage === 'JSONata')
        throw new Error(`state ${name}: JSONata is not supported locally`);
      switch (type) {
        case 'Task': {
          const resource = str(state.Resource);
          if (!resource) throw new Error(`state ${name}: Task without a Resource`);
          const timeoutSeconds = num(state.TimeoutSeconds);
          const heartbeatSeconds = num(state.HeartbeatSeconds);
          tasks.set(name, {
            name,
            resource,
            ...(state.Parameters === undefined ? {} : { parameters: state.Parameters }),
            ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
            ...(heartbeatSeconds === undefined ? {} : { heartbeatSeconds }),
          });
          // AWS has no task timeout by default; the library would apply 60 s.
          if (state.TimeoutSecondsPath === undefined) {
            state.TimeoutSeconds = Math.min(timeoutSeconds ?? MAX_TIMER_SECONDS, MAX_TIMER_SECONDS);
          }
          scaleRetriers(state, scale);
          break;
        }
        case 'Map': {
          const processor = isObject(state.ItemProcessor) ? state.ItemProcessor : state.Iterator;
          if (!isObject(processor)) throw new Error(`state ${name}: Map without ItemProcessor or Iterator`);
          if (isObject(state.ItemReader) || isObject(state.ResultWriter)) {
            throw new Error(
              `state ${name}: distributed Map (ItemReader/ResultWriter) is not supported locally`,
            );
          }
          const inputPath = state.InputPath;
          const itemsPath = str(state.ItemsPath);
          maps.set(name, {
            ...(typeof inputPath === 'string' || inputPath === null ? { inputPath } : {}),
            ...(itemsPath === undefined ? {} : { itemsPath }),
          });
          scaleRetriers(state, scale);
          visit(processor);
          break;
        }
        case 'Parallel': {
          scaleRetriers(state, scale);
          const branches = state.Branches;
          if (!Array.isArray(branches)) throw new Error(`state ${name}: Parallel without Branches`);
          for (const branch of branches) if (isObject(branch)) visit(branch);
          break;
        }
        case 'Wait': {
          const seconds = num(state.Seconds);
          if (seconds !== undefined) {
            state.Seconds = seconds * scale;
            break;
          }
          const wait: DynamicWait = {
            name,
            ...(str(state.SecondsPath) === undefined ? {} : { secondsPath: str(state.SecondsPath) }),
            ...(str(state.TimestampPath) === undefined ? {} : { timestampPath: str(state.TimestampPath) }),
            ...(str(state.Timestamp) === undefined ? {} : { timestamp: str(state.Timestamp) }),
          };
          // Paths into the context object ($$) stay with the library, unscaled.
          if (wait.secondsPath?.startsWith('$$') || wait.timestampPath?.startsWith('$$')) break;
          waits.set(name, wait);
          const { Seconds: _s, SecondsPath: _sp, Timestamp: _t, TimestampPath: _tp, ...rest } = state;
          const standIn: JsonObject = {
            ...rest,
            Type: 'Task',
            Resource: LOCAL_WAIT_RESOURCE,
            TimeoutSeconds: MAX_TIMER_SECONDS,
          };
          for (const key of Object.keys(state)) delete state[key];
          Object.assign(state, standIn);
          break;
        }
        default:
          break;
      }
    }
  };
  visit(runtime);
  return { runtime, tasks, waits, maps, stateTypes };
}

/**
 * Reads a JSONPath reference path (`$`, `$.a.b`, `$.a[0]`, `$['a']`), the only form ASL allows in
 * InputPath, ItemsPath, SecondsPath and TimestampPath. Undefined when the path does not match.
 */
export function readReferencePath(path: string, input: Json): Json | undefined {
  if (!path.startsWith('$')) return undefined;
  let current: Json | undefined = input;
  const token = /\.([^.[\]]+)|\['([^']*)'\]|\[(\d+)\]/y;
  token.lastIndex = 1;
  while (token.lastIndex < path.length) {
    const m = token.exec(path);
    if (!m) return undefined;
    const field = m[1] ?? m[2];
    if (field !== undefined) {
      current = isObject(current) ? current[field] : undefined;
    } else {
      const index = Number(m[3]);
      current = Array.isArray(current) ? current[index] : undefined;
    }
    if (current === undefined) return undefined;
  }
  return current;
}
