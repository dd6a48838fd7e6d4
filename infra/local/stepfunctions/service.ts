/**
 * The local Step Functions service: executions of the synthesized state machines run on
 * aws-local-stepfunctions, with every Task routed by its Resource, task tokens, and AWS-shaped history.
 */
import './polyfill.ts';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ExecutionError,
  ExecutionTimeoutError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import type { LocalPlacement, LocalStateMachine } from '../model.ts';
import {
  type DynamicWait,
  isObject,
  type Json,
  type PreparedDefinition,
  prepareDefinition,
  readReferencePath,
  type TaskStateInfo,
} from './definition.ts';
import { SfnApiError, StatesTaskError } from './errors.ts';
import {
  ExecutionHistory,
  type HistoryEvent,
  HistoryTranslator,
  jsonText,
  type LibraryEvent,
} from './history.ts';
import {
  type ChildExecution,
  type IntegrationDeps,
  type InvokeLambda,
  type ParsedResource,
  parseResource,
  runIntegration,
} from './integrations.ts';
import { TaskTokens } from './tokens.ts';

type LocalHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;

/** Status of an execution, as AWS names it. */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** What `$$.Task.Token` resolves to while Parameters are evaluated; each attempt swaps in its own token. */
const TOKEN_PLACEHOLDER = '@@local-sfn-task-token@@';

interface MachineRecord {
  readonly source: LocalStateMachine;
  readonly prepared: PreparedDefinition;
  /** The prepared runtime definition in the library's type. */
  readonly libraryDefinition: StateMachineDefinition;
  readonly resources: ReadonlyMap<string, ParsedResource>;
  readonly creationDate: Date;
  readonly roleArn: string;
}

interface ExecutionRecord {
  readonly arn: string;
  readonly name: string;
  readonly machine: MachineRecord;
  readonly input: string;
  readonly startDate: Date;
  readonly history: ExecutionHistory;
  readonly abort: AbortController;
  status: ExecutionStatus;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  libAbort?: () => void;
  done?: Promise<void>;
}

/** Options of the service (the HTTP layer adds port handling). */
export interface StepFunctionsServiceOptions {
  readonly stateMachines: readonly LocalStateMachine[];
  readonly invokeLambda: InvokeLambda;
  readonly endpoints: IntegrationDeps['endpoints'];
  readonly placement: LocalPlacement;
  /** Multiplies Retry intervals and Wait durations (not timeouts). */
  readonly retryIntervalScale: number;
  /** How often `.sync` tasks poll their job. */
  readonly syncPollIntervalMs: number;
}

function replaceToken(value: Json, token: string): Json {
  if (typeof value === 'string')
    return value.includes(TOKEN_PLACEHOLDER) ? value.replaceAll(TOKEN_PLACEHOLDER, token) : value;
  if (Array.isArray(value)) return value.map((v) => replaceToken(v, token));
  if (isObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceToken(v, token)]));
  return value;
}

/** Lets the library's event log (an async generator) catch up, so StateEntered precedes TaskScheduled. */
function afterPendingEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** AWS's execution name rule: 1-80 characters, no whitespace, brackets, wildcards, punctuation or control characters. */
function isExecutionName(name: string): boolean {
  if (name.length < 1 || name.length > 80 || /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/.test(name)) return false;
  return [...name].every((c) => {
    const code = c.charCodeAt(0);
    return code > 0x1f && (code < 0x7f || code > 0x9f);
  });
}

/** Executions, task tokens and history for a set of state machines. */
export class StepFunctionsService {
  private readonly machines = new Map<string, MachineRecord>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly tokens = new TaskTokens();
  private readonly deps: IntegrationDeps;

  constructor(private readonly options: StepFunctionsServiceOptions) {
    if (!(options.retryIntervalScale > 0)) {
      throw new Error(`retryIntervalScale must be > 0, got ${options.retryIntervalScale}`);
    }
    for (const sm of options.stateMachines) {
      let prepared: PreparedDefinition;
      const resources = new Map<string, ParsedResource>();
      try {
        // The library's own validation (asl-validator) on the original definition, once.
        new StateMachine(JSON.parse(sm.definition) as StateMachineDefinition, {
          validationOptions: { checkArn: false },
        });
        prepared = prepareDefinition(sm.definition, options.retryIntervalScale);
        for (const task of prepared.tasks.values()) resources.set(task.name, parseResource(task.resource));
      } catch (e) {
        throw new Error(
          `state machine ${sm.name} (${sm.stack}/${sm.logicalId}): ${e instanceof Error ? e.message : String(e)}`,
        );
      }
      this.machines.set(sm.arn, {
        source: sm,
        prepared,
        // Validated above by the library itself; a JSON round trip hands it over in the library's type.
        libraryDefinition: JSON.parse(JSON.stringify(prepared.runtime)),
        resources,
        creationDate: new Date(),
        roleArn: `arn:aws:iam::${options.placement.account}:role/${sm.name}-local-role`,
      });
    }
    this.deps = {
      invokeLambda: options.invokeLambda,
      endpoints: options.endpoints,
      placement: options.placement,
      syncPollIntervalMs: options.syncPollIntervalMs,
      startExecution: (arn, input, name) => this.startExecution(arn, input, name),
      waitForExecution: (arn) => this.waitFor(arn),
      stopExecution: (arn, error, cause) => void this.stopExecution(arn, error, cause),
    };
  }

  /** Starts an execution; idempotent for the same name and input while it runs, as AWS is. */
  startExecution(
    stateMachineArn: string,
    input = '{}',
    name: string = randomUUID(),
  ): { executionArn: string; startDate: Date } {
    const machine = this.machines.get(stateMachineArn);
    if (!machine)
      throw new SfnApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    if (!isExecutionName(name)) throw new SfnApiError('InvalidName', `Invalid Name: '${name}'`);
    let parsedInput: Json;
    try {
      parsedInput = JSON.parse(input) as Json;
    } catch (e) {
      throw new SfnApiError(
        'InvalidExecutionInput',
        `Invalid State Machine Execution Input: '${e instanceof Error ? e.message : String(e)}'`,
      );
    }
    const arn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.executions.get(arn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === input)
        return { executionArn: arn, startDate: existing.startDate };
      throw new SfnApiError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    const exec: ExecutionRecord = {
      arn,
      name,
      machine,
      input,
      startDate: new Date(),
      history: new ExecutionHistory(),
      abort: new AbortController(),
      status: 'RUNNING',
    };
    this.executions.set(arn, exec);
    exec.history.add('ExecutionStarted', {
      input,
      inputDetails: { truncated: false },
      roleArn: machine.roleArn,
      stateMachineArn,
    });
    exec.done = this.run(exec, parsedInput);
    return { executionArn: arn, startDate: exec.startDate };
  }

  /** DescribeExecution's answer. */
  describeExecution(executionArn: string): Record<string, unknown> {
    const exec = this.execution(executionArn);
    return {
      executionArn: exec.arn,
      stateMachineArn: exec.machine.source.arn,
      name: exec.name,
      status: exec.status,
      startDate: exec.startDate,
      ...(exec.stopDate ? { stopDate: exec.stopDate } : {}),
      input: exec.input,
      inputDetails: { included: true },
      ...(exec.output === undefined ? {} : { output: exec.output, outputDetails: { included: true } }),
      ...(exec.error === undefined ? {} : { error: exec.error }),
      ...(exec.cause === undefined ? {} : { cause: exec.cause }),
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
    };
  }

  /** Executions of a state machine, newest first. */
  listExecutions(stateMachineArn: string, statusFilter?: ExecutionStatus): Record<string, unknown>[] {
    if (!this.machines.has(stateMachineArn)) {
      throw new SfnApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    }
    return [...this.executions.values()]
      .filter(
        (e) =>
          e.machine.source.arn === stateMachineArn &&
          (statusFilter === undefined || e.status === statusFilter),
      )
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime())
      .map((e) => ({
        executionArn: e.arn,
        stateMachineArn,
        name: e.name,
        status: e.status,
        startDate: e.startDate,
        ...(e.stopDate ? { stopDate: e.stopDate } : {}),
        redriveCount: 0,
      }));
  }

  /** The history events of an execution. */
  history(executionArn: string, includeExecutionData = true): HistoryEvent[] {
    return this.execution(executionArn).history.list(includeExecutionData);
  }

  /** Stops a running execution; a finished one is left as it is. */
  stopExecution(executionArn: string, error?: string, cause?: string): { stopDate: Date } {
    const exec = this.execution(executionArn);
    if (exec.status !== 'RUNNING') return { stopDate: exec.stopDate ?? new Date() };
    exec.status = 'ABORTED';
    exec.stopDate = new Date();
    if (error !== undefined) exec.error = error;
    if (cause !== undefined) exec.cause = cause;
    const reason = new StatesTaskError('States.Aborted', 'The execution was stopped');
    exec.abort.abort(reason);
    this.tokens.cancelExecution(exec.arn, reason);
    exec.libAbort?.();
    return { stopDate: exec.stopDate };
  }

  sendTaskSuccess(token: string, output: string): void {
    let parsed: Json;
    try {
      parsed = JSON.parse(output) as Json;
    } catch {
      throw new SfnApiError('InvalidOutput', `Invalid output: '${output}'`);
    }
    this.tokens.succeed(token, parsed);
  }

  sendTaskFailure(token: string, error?: string, cause?: string): void {
    this.tokens.fail(token, error, cause);
  }

  sendTaskHeartbeat(token: string): void {
    this.tokens.heartbeat(token);
  }

  /** ListStateMachines' entries. */
  listStateMachines(): Record<string, unknown>[] {
    return [...this.machines.values()].map((m) => ({
      stateMachineArn: m.source.arn,
      name: m.source.name,
      type: m.source.type,
      creationDate: m.creationDate,
    }));
  }

  /** DescribeStateMachine's answer (the original definition, not the scaled runtime copy). */
  describeStateMachine(stateMachineArn: string): Record<string, unknown> {
    const m = this.machines.get(stateMachineArn);
    if (!m)
      throw new SfnApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    return {
      stateMachineArn: m.source.arn,
      name: m.source.name,
      status: 'ACTIVE',
      definition: m.source.definition,
      roleArn: m.roleArn,
      type: m.source.type,
      creationDate: m.creationDate,
      loggingConfiguration: { level: 'OFF', includeExecutionData: false },
      tracingConfiguration: { enabled: false },
    };
  }

  /** Resolves with the execution's summary once it has ended (any status). */
  async waitFor(executionArn: string): Promise<ChildExecution> {
    const exec = this.execution(executionArn);
    await exec.done;
    return this.summary(exec);
  }

  /** Stops every running execution and waits for all of them to settle. */
  async close(): Promise<void> {
    for (const exec of this.executions.values()) {
      if (exec.status === 'RUNNING')
        this.stopExecution(exec.arn, 'States.Aborted', 'The local Step Functions service stopped');
    }
    await Promise.allSettled([...this.executions.values()].map((e) => e.done));
  }

  private execution(executionArn: string): ExecutionRecord {
    const exec = this.executions.get(executionArn);
    if (!exec) throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return exec;
  }

  private summary(exec: ExecutionRecord): ChildExecution {
    return {
      executionArn: exec.arn,
      stateMachineArn: exec.machine.source.arn,
      name: exec.name,
      status: exec.status,
      startDate: exec.startDate,
      input: exec.input,
      ...(exec.stopDate ? { stopDate: exec.stopDate } : {}),
      ...(exec.output === undefined ? {} : { output: exec.output }),
      ...(exec.error === undefined ? {} : { error: exec.error }),
      ...(exec.cause === undefined ? {} : { cause: exec.cause }),
    };
  }

  private async run(exec: ExecutionRecord, input: Json): Promise<void> {
    const { prepared, source } = exec.machine;
    const handlers: LocalHandlers = {};
    for (const task of prepared.tasks.values()) {
      const resource = exec.machine.resources.get(task.name);
      if (resource) handlers[task.name] = (taskInput) => this.runTask(exec, task, resource, taskInput);
    }
    for (const wait of prepared.waits.values())
      handlers[wait.name] = (waitInput) => this.runWait(exec, wait, waitInput);
    const machine = new StateMachine(exec.machine.libraryDefinition, {
      validationOptions: { noValidate: true },
    });
    const execution = machine.run(input, {
      overrides: { taskResourceLocalHandlers: handlers },
      noThrowOnAbort: true,
      context: {
        Execution: { Id: exec.arn, Name: exec.name, RoleArn: exec.machine.roleArn, RedriveCount: 0 },
        StateMachine: { Id: source.arn, Name: source.name },
        Task: { Token: TOKEN_PLACEHOLDER },
      },
    });
    exec.libAbort = execution.abort;
    // A stop that raced the start: abort the run the library just began.
    if (exec.status !== 'RUNNING') execution.abort();
    const translator = new HistoryTranslator(exec.history, prepared);
    const consumed = (async () => {
      for await (const event of execution.eventLogs) translator.translate(event as LibraryEvent);
    })();
    let outcome: { ok: true; output: Json } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, output: await execution.result };
    } catch (error) {
      outcome = { ok: false, error };
    }
    await consumed;
    this.tokens.cancelExecution(exec.arn, new StatesTaskError('States.Aborted', 'The execution has ended'));
    if (exec.status === 'ABORTED') {
      exec.history.add('ExecutionAborted', {
        ...(exec.error === undefined ? {} : { error: exec.error }),
        ...(exec.cause === undefined ? {} : { cause: exec.cause }),
      });
      return;
    }
    exec.stopDate = new Date();
    if (outcome.ok) {
      exec.status = 'SUCCEEDED';
      exec.output = JSON.stringify(outcome.output);
      exec.history.add('ExecutionSucceeded', { output: exec.output, outputDetails: { truncated: false } });
      return;
    }
    if (outcome.error instanceof ExecutionTimeoutError) {
      exec.status = 'TIMED_OUT';
      return;
    }
    const { error, cause } = failureOf(outcome.error);
    exec.status = 'FAILED';
    if (error !== undefined) exec.error = error;
    if (cause !== undefined) exec.cause = cause;
    exec.history.add('ExecutionFailed', {
      ...(error === undefined ? {} : { error }),
      ...(cause === undefined ? {} : { cause }),
    });
  }

  private async runTask(
    exec: ExecutionRecord,
    task: TaskStateInfo,
    r: ParsedResource,
    input: Json,
  ): Promise<Json> {
    const attempt = new AbortController();
    const onStop = () => attempt.abort(exec.abort.signal.reason);
    exec.abort.signal.addEventListener('abort', onStop, { once: true });
    const record = new TaskEvents(exec.history, r, task, this.options.placement.region);
    let timedOut = false;
    // Armed before the library's own timer (same duration, created right after this call returns),
    // so the history shows the timeout before the library raises States.Timeout.
    const timer =
      task.timeoutSeconds === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            record.timedOut('States.Timeout', `Task timed out after ${task.timeoutSeconds} seconds`);
            attempt.abort(new StatesTaskError('States.Timeout', 'Task timed out'));
          }, task.timeoutSeconds * 1000);
    try {
      await afterPendingEvents();
      if (attempt.signal.aborted) throw attempt.signal.reason;
      let effective = input;
      let tokenCompletion: Promise<Json> | undefined;
      if (r.pattern === 'waitForTaskToken') {
        const issued = this.tokens.issue(exec.arn, task.name, task.heartbeatSeconds);
        // SendTaskSuccess may arrive before the request that carried the token returns.
        issued.completion.catch(() => {});
        attempt.signal.addEventListener(
          'abort',
          () => issued.cancel(new StatesTaskError('States.Aborted', 'Task aborted')),
          { once: true },
        );
        effective = replaceToken(input, issued.token);
        tokenCompletion = issued.completion;
      }
      record.scheduled(effective);
      record.started();
      const output = await runIntegration(this.deps, r, {
        input: effective,
        signal: attempt.signal,
        submitted: (out) => record.submitted(out),
        ...(tokenCompletion ? { tokenCompletion } : {}),
      });
      if (timedOut) return new Promise<Json>(() => {});
      if (exec.status !== 'RUNNING') throw new StatesTaskError('States.Aborted', 'The execution was stopped');
      record.succeeded(output);
      return output;
    } catch (e) {
      // The library's timer reports States.Timeout; this attempt must not settle first.
      if (timedOut) return new Promise<Json>(() => {});
      const error =
        e instanceof StatesTaskError
          ? e
          : new StatesTaskError('States.TaskFailed', e instanceof Error ? e.message : String(e));
      if (exec.status === 'RUNNING') {
        if (error.name === 'States.HeartbeatTimeout') record.timedOut(error.name, error.message);
        else record.failed(error.name, error.message);
      }
      throw error;
    } finally {
      if (timer) clearTimeout(timer);
      exec.abort.signal.removeEventListener('abort', onStop);
    }
  }

  private async runWait(exec: ExecutionRecord, wait: DynamicWait, input: Json): Promise<Json> {
    let until: number;
    if (wait.secondsPath !== undefined) {
      const seconds = readReferencePath(wait.secondsPath, input);
      if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0) {
        throw new StatesTaskError(
          'States.Runtime',
          `Path expression '${wait.secondsPath}' evaluated to ${JSON.stringify(seconds)}, but expected an integer >= 0`,
        );
      }
      until = Date.now() + seconds * 1000;
    } else {
      const stamp =
        wait.timestamp ??
        (wait.timestampPath === undefined ? undefined : readReferencePath(wait.timestampPath, input));
      const time = typeof stamp === 'string' ? Date.parse(stamp) : Number.NaN;
      if (Number.isNaN(time)) {
        throw new StatesTaskError(
          'States.Runtime',
          `Wait state ${wait.name}: ${JSON.stringify(stamp)} is not an RFC3339 timestamp`,
        );
      }
      until = time;
    }
    const ms = Math.max(0, until - Date.now()) * this.options.retryIntervalScale;
    await sleep(ms, undefined, { signal: exec.abort.signal });
    return input;
  }
}

/** Records one Task attempt's events: LambdaFunction* for a function ARN, Task* for integrations. */
class TaskEvents {
  constructor(
    private readonly history: ExecutionHistory,
    private readonly r: ParsedResource,
    private readonly task: TaskStateInfo,
    private readonly region: string,
  ) {}

  private get ids() {
    return { resourceType: this.r.resourceType, resource: this.r.resource };
  }

  scheduled(input: Json): void {
    const timeout =
      this.task.timeoutSeconds === undefined ? {} : { timeoutInSeconds: this.task.timeoutSeconds };
    if (this.r.kind === 'lambda') {
      this.history.add('LambdaFunctionScheduled', {
        resource: this.r.resource,
        input: jsonText(input),
        inputDetails: { truncated: false },
        ...timeout,
      });
      return;
    }
    this.history.add('TaskScheduled', {
      ...this.ids,
      region: this.region,
      parameters: jsonText(input),
      ...timeout,
      ...(this.task.heartbeatSeconds === undefined ? {} : { heartbeatInSeconds: this.task.heartbeatSeconds }),
    });
  }

  started(): void {
    if (this.r.kind === 'lambda') this.history.add('LambdaFunctionStarted');
    else this.history.add('TaskStarted', this.ids);
  }

  submitted(output: Json): void {
    this.history.add('TaskSubmitted', {
      ...this.ids,
      output: jsonText(output),
      outputDetails: { truncated: false },
    });
  }

  succeeded(output: Json): void {
    const data = { output: jsonText(output), outputDetails: { truncated: false } };
    if (this.r.kind === 'lambda') this.history.add('LambdaFunctionSucceeded', data);
    else this.history.add('TaskSucceeded', { ...this.ids, ...data });
  }

  failed(error: string, cause: string): void {
    if (this.r.kind === 'lambda') this.history.add('LambdaFunctionFailed', { error, cause });
    else this.history.add('TaskFailed', { ...this.ids, error, cause });
  }

  timedOut(error: string, cause: string): void {
    if (this.r.kind === 'lambda') this.history.add('LambdaFunctionTimedOut', { error, cause });
    else this.history.add('TaskTimedOut', { ...this.ids, error, cause });
  }
}

/** The error and cause an execution failed with, from the library's ExecutionError. */
function failureOf(e: unknown): { error?: string; cause?: string } {
  const inner = e instanceof ExecutionError && e.cause instanceof Error ? e.cause : e;
  if (!(inner instanceof Error)) return { error: 'States.Runtime', cause: String(inner) };
  // The library's Fail state without Error/Cause uses placeholders that AWS would leave out.
  const error = inner.name === 'FailStateError' ? undefined : inner.name;
  const cause = inner.message === 'Execution failed because of a Fail state' ? undefined : inner.message;
  return { ...(error === undefined ? {} : { error }), ...(cause === undefined ? {} : { cause }) };
}
