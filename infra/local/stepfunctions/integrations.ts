/**
 * Task resources routed by ARN: Lambda (direct ARN or `lambda:invoke`), SageMaker (request-response
 * and `.sync` jobs), DynamoDB, SNS, nested executions, and `aws-sdk:dynamodb|sagemaker`. Failures
 * carry the error names AWS gives them, so Retry and Catch match as they would in the cloud.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalPlacement } from '../model.ts';
import { type AwsCallResult, AwsServiceError, callAwsJson, callAwsQuery } from './aws-call.ts';
import { isObject, type Json, type JsonObject } from './definition.ts';
import { StatesTaskError } from './errors.ts';

/** Invokes a local Lambda function: resolves with its result, rejects with an Error named after its errorType. */
export type InvokeLambda = (functionArn: string, payload: unknown) => Promise<unknown>;

/** How a Task waits: request-response, run-a-job (`.sync`, `.sync:2`) or callback (`.waitForTaskToken`). */
export type IntegrationPattern = 'request' | 'sync' | 'sync:2' | 'waitForTaskToken';

/** A Task's Resource, classified. */
export interface ParsedResource {
  /** `lambda` for a function ARN (LambdaFunction* history events), `service` for `arn:aws:states:::...`. */
  readonly kind: 'lambda' | 'service';
  /** History's resourceType: `lambda`, `sagemaker`, `aws-sdk:dynamodb`... */
  readonly resourceType: string;
  /** History's resource: `invoke`, `createTrainingJob.sync`... */
  readonly resource: string;
  readonly service: string;
  readonly action: string;
  readonly pattern: IntegrationPattern;
}

/** The summary of a nested execution, as `states:startExecution.sync` reports it. */
export interface ChildExecution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: string;
  readonly startDate: Date;
  readonly stopDate?: Date;
  readonly input: string;
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
}

/** What integrations reach. */
export interface IntegrationDeps {
  readonly invokeLambda: InvokeLambda;
  readonly endpoints: { readonly sagemaker: string; readonly dynamodb: string; readonly sns: string };
  readonly placement: LocalPlacement;
  readonly syncPollIntervalMs: number;
  startExecution(
    stateMachineArn: string,
    input: string,
    name?: string,
  ): { executionArn: string; startDate: Date };
  waitForExecution(executionArn: string): Promise<ChildExecution>;
  stopExecution(executionArn: string, error: string, cause: string): void;
}

/** One attempt of a Task, as the integration sees it. */
export interface TaskAttempt {
  /** The effective input (Parameters already applied, task token already in place). */
  readonly input: Json;
  /** Aborted when the execution stops or the attempt times out. */
  readonly signal: AbortSignal;
  /** Records TaskSubmitted (the job was created, or the callback request was sent). */
  submitted(output: Json): void;
  /** For `.waitForTaskToken`: settles when SendTaskSuccess/SendTaskFailure arrives. */
  readonly tokenCompletion?: Promise<Json>;
}

const LAMBDA_ARN =
  /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]+)(?::[A-Za-z0-9$_-]+)?$/;
const SERVICE_ARN =
  /^arn:aws[a-z-]*:states:::([a-z0-9-]+(?::[a-z0-9-]+)?):([A-Za-z0-9]+)(?:\.(sync:2|sync|waitForTaskToken))?$/;

const SUPPORTED_SERVICES = new Set([
  'lambda',
  'sagemaker',
  'dynamodb',
  'sns',
  'states',
  'aws-sdk:dynamodb',
  'aws-sdk:sagemaker',
]);
const SYNC_JOBS: Readonly<
  Record<string, { describe: string; nameField: string; statusField: string; stop?: string }>
> = {
  createTrainingJob: {
    describe: 'DescribeTrainingJob',
    nameField: 'TrainingJobName',
    statusField: 'TrainingJobStatus',
    stop: 'StopTrainingJob',
  },
  createTransformJob: {
    describe: 'DescribeTransformJob',
    nameField: 'TransformJobName',
    statusField: 'TransformJobStatus',
  },
};

/** Classifies a Task's Resource; throws for resources the local service cannot run. */
export function parseResource(arn: string): ParsedResource {
  if (LAMBDA_ARN.test(arn)) {
    return {
      kind: 'lambda',
      resourceType: 'lambda',
      resource: arn,
      service: 'lambda',
      action: 'invoke',
      pattern: 'request',
    };
  }
  const m = SERVICE_ARN.exec(arn);
  const service = m?.[1];
  const action = m?.[2];
  if (!service || !action || !SUPPORTED_SERVICES.has(service)) {
    throw new Error(`Task resource ${arn} is not supported by the local Step Functions service`);
  }
  const pattern: IntegrationPattern =
    m[3] === 'sync' || m[3] === 'sync:2' || m[3] === 'waitForTaskToken' ? m[3] : 'request';
  if (
    (pattern === 'sync' || pattern === 'sync:2') &&
    !SYNC_JOBS[action] &&
    !(service === 'states' && action === 'startExecution')
  ) {
    throw new Error(
      `Task resource ${arn}: .sync is only emulated for SageMaker training/transform jobs and nested executions`,
    );
  }
  if (service === 'lambda' && action !== 'invoke')
    throw new Error(`Task resource ${arn}: only lambda:invoke is supported`);
  return {
    kind: 'service',
    resourceType: service,
    resource: m[3] ? `${action}.${m[3]}` : action,
    service,
    action,
    pattern,
  };
}

function pascal(action: string): string {
  return `${action.charAt(0).toUpperCase()}${action.slice(1)}`;
}

/** Step Functions' optimized integrations add the Java SDK's response metadata to the output. */
function sdkMetadata(result: AwsCallResult): JsonObject {
  const headers: JsonObject = {};
  const all: JsonObject = {};
  for (const [k, v] of Object.entries(result.headers)) {
    headers[k] = v;
    all[k] = [v];
  }
  return {
    SdkHttpMetadata: { AllHttpHeaders: all, HttpHeaders: headers, HttpStatusCode: result.statusCode },
    SdkResponseMetadata: { RequestId: result.requestId },
  };
}

function asJson(value: unknown): Json {
  return (JSON.parse(JSON.stringify(value ?? null)) ?? null) as Json;
}

/** SageMaker timestamps arrive as epoch seconds; Step Functions shows them as epoch milliseconds. */
function millisTimestamps(value: Json): Json {
  if (Array.isArray(value)) return value.map(millisTimestamps);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = typeof v === 'number' && /Time$/.test(k) ? Math.round(v * 1000) : millisTimestamps(v);
  }
  return out;
}

const MODELED: Readonly<Record<string, ReadonlySet<string>>> = {
  SageMaker: new Set(['ResourceInUse', 'ResourceLimitExceeded', 'ResourceNotFound', 'ConflictException']),
  DynamoDB: new Set([
    'ConditionalCheckFailedException',
    'ProvisionedThroughputExceededException',
    'ResourceNotFoundException',
    'ItemCollectionSizeLimitExceededException',
    'TransactionConflictException',
    'RequestLimitExceeded',
    'InternalServerError',
  ]),
};
const JAVA_SERVICE_NAMES: Readonly<Record<string, string>> = {
  SageMaker: 'AmazonSageMaker',
  DynamoDB: 'AmazonDynamoDBv2',
  SNS: 'AmazonSNS',
};

function withException(code: string): string {
  return code.endsWith('Exception') ? code : `${code}Exception`;
}

/**
 * The error a service failure becomes in the state machine: `<Prefix>.<ModeledException>`, or the
 * service's generic `<Prefix>.Amazon<Service>Exception` for unmodeled codes such as ThrottlingException.
 */
function serviceTaskError(
  prefix: 'SageMaker' | 'DynamoDB' | 'SNS',
  e: unknown,
  sdkIntegration: boolean,
): StatesTaskError {
  if (!(e instanceof AwsServiceError)) {
    return new StatesTaskError('States.TaskFailed', e instanceof Error ? e.message : String(e));
  }
  const javaName = JAVA_SERVICE_NAMES[prefix] ?? prefix;
  const cause = `${e.message} (Service: ${javaName}; Status Code: ${e.statusCode}; Error Code: ${e.code}; Request ID: ${e.requestId}; Proxy: null)`;
  if (sdkIntegration) {
    const sdkPrefix = prefix === 'DynamoDB' ? 'DynamoDb' : prefix;
    return new StatesTaskError(`${sdkPrefix}.${withException(e.code)}`, cause);
  }
  const modeled = prefix === 'SNS' || MODELED[prefix]?.has(e.code);
  return new StatesTaskError(
    modeled ? `${prefix}.${withException(e.code)}` : `${prefix}.${javaName}Exception`,
    cause,
  );
}

/**
 * Lambda runtime errors that mean the function could not be run at all. The runtime is decoupled
 * behind {@link InvokeLambda}, so its error classes are known here by name only.
 */
const LAMBDA_SERVICE_ERRORS: Readonly<Record<string, string>> = {
  FunctionNotFoundError: 'Lambda.ResourceNotFoundException',
  UnsupportedRuntimeError: 'Lambda.InvalidRuntimeException',
  RuntimeStoppedError: 'Lambda.ServiceException',
  EndpointsNotSetError: 'Lambda.ServiceException',
};

function errorPayloadOf(e: Error): JsonObject | undefined {
  const payload: unknown = Reflect.get(e, 'payload');
  return isObject(payload) && typeof payload.errorType === 'string' ? payload : undefined;
}

/** A Lambda failure as Step Functions reports it: the errorType as name, the error payload as cause. */
function lambdaTaskError(e: unknown): StatesTaskError {
  if (e instanceof StatesTaskError) return e;
  if (!(e instanceof Error)) return new StatesTaskError('Lambda.ServiceException', String(e));
  const payload = errorPayloadOf(e);
  if (payload) return new StatesTaskError(String(payload.errorType), JSON.stringify(payload));
  // Service-side failures may come already named (Lambda.TooManyRequestsException...).
  if (/^(Lambda|States|Sandbox)\./.test(e.name)) return new StatesTaskError(e.name, e.message);
  const service = LAMBDA_SERVICE_ERRORS[e.name];
  if (service) return new StatesTaskError(service, e.message);
  const trace = (e.stack ?? '').split('\n').filter((line) => line.trim() !== '');
  return new StatesTaskError(e.name, JSON.stringify({ errorType: e.name, errorMessage: e.message, trace }));
}

function functionArnOf(nameOrArn: string, placement: LocalPlacement): string {
  const arn = LAMBDA_ARN.exec(nameOrArn);
  if (arn) return `arn:aws:lambda:${arn[1]}:${arn[2]}:function:${arn[3]}`;
  const partial = /^(?:(\d{12}):)?(?:function:)?([A-Za-z0-9_-]+)(?::[A-Za-z0-9$_-]+)?$/.exec(nameOrArn);
  if (!partial?.[2])
    throw new StatesTaskError('Lambda.InvalidParameterValueException', `Invalid FunctionName: ${nameOrArn}`);
  return `arn:aws:lambda:${placement.region}:${partial[1] ?? placement.account}:function:${partial[2]}`;
}

async function invokeLambdaOrThrow(deps: IntegrationDeps, arn: string, payload: Json): Promise<Json> {
  try {
    return asJson(await deps.invokeLambda(arn, payload));
  } catch (e) {
    throw lambdaTaskError(e);
  }
}

async function lambdaInvoke(deps: IntegrationDeps, input: Json): Promise<Json> {
  if (!isObject(input) || typeof input.FunctionName !== 'string') {
    throw new StatesTaskError('States.Runtime', 'lambda:invoke Parameters must include FunctionName');
  }
  const arn = functionArnOf(input.FunctionName, deps.placement);
  const payload = typeof input.Payload === 'string' ? parsePayloadText(input.Payload) : (input.Payload ?? {});
  const requestId = randomUUID();
  const metadata = {
    SdkHttpMetadata: {
      AllHttpHeaders: { 'X-Amz-Executed-Version': ['$LATEST'], 'x-amzn-RequestId': [requestId] },
      HttpHeaders: { 'X-Amz-Executed-Version': '$LATEST', 'x-amzn-RequestId': requestId },
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
  };
  if (input.InvocationType === 'Event') {
    // Asynchronous invocation: AWS answers 202 at once and the function's fate is not the task's.
    deps.invokeLambda(arn, payload).catch(() => {});
    return { Payload: '', ...metadata, StatusCode: 202 };
  }
  const result = await invokeLambdaOrThrow(deps, arn, payload);
  return { ExecutedVersion: '$LATEST', Payload: result, ...metadata, StatusCode: 200 };
}

function parsePayloadText(text: string): Json {
  try {
    return asJson(JSON.parse(text));
  } catch {
    return text;
  }
}

async function sageMakerCall(
  deps: IntegrationDeps,
  operation: string,
  body: Json,
  sdk: boolean,
): Promise<AwsCallResult> {
  try {
    return await callAwsJson({
      endpoint: deps.endpoints.sagemaker,
      region: deps.placement.region,
      service: 'sagemaker',
      target: `SageMaker.${operation}`,
      version: '1.1',
      body,
    });
  } catch (e) {
    throw serviceTaskError('SageMaker', e, sdk);
  }
}

async function sageMaker(deps: IntegrationDeps, r: ParsedResource, attempt: TaskAttempt): Promise<Json> {
  const sdk = r.service.startsWith('aws-sdk:');
  const created = await sageMakerCall(deps, pascal(r.action), attempt.input, sdk);
  const output = millisTimestamps(asJson(created.body));
  if (r.pattern !== 'sync')
    return sdk ? output : { ...(isObject(output) ? output : {}), ...sdkMetadata(created) };
  const job = SYNC_JOBS[r.action];
  const name = isObject(attempt.input) ? attempt.input[job?.nameField ?? ''] : undefined;
  if (!job || typeof name !== 'string')
    throw new StatesTaskError('States.Runtime', `${r.action}.sync needs ${job?.nameField}`);
  attempt.submitted(output);
  const stopOnAbort = () => {
    if (job.stop) void sageMakerCall(deps, job.stop, { [job.nameField]: name }, false).catch(() => {});
  };
  attempt.signal.addEventListener('abort', stopOnAbort, { once: true });
  try {
    for (;;) {
      await sleep(deps.syncPollIntervalMs, undefined, { signal: attempt.signal });
      const described = millisTimestamps(
        asJson((await sageMakerCall(deps, job.describe, { [job.nameField]: name }, false)).body),
      );
      const status = isObject(described) ? described[job.statusField] : undefined;
      if (status === 'Completed') return described;
      // AWS fails a .sync task on a failed or stopped job with States.TaskFailed and the description as cause.
      if (status === 'Failed' || status === 'Stopped')
        throw new StatesTaskError('States.TaskFailed', JSON.stringify(described));
    }
  } finally {
    attempt.signal.removeEventListener('abort', stopOnAbort);
  }
}

async function dynamoDb(deps: IntegrationDeps, r: ParsedResource, input: Json): Promise<Json> {
  const sdk = r.service.startsWith('aws-sdk:');
  if (!sdk && !['putItem', 'getItem', 'updateItem', 'deleteItem'].includes(r.action)) {
    throw new StatesTaskError(
      'States.Runtime',
      `dynamodb:${r.action} is not an optimized DynamoDB integration`,
    );
  }
  try {
    const result = await callAwsJson({
      endpoint: deps.endpoints.dynamodb,
      region: deps.placement.region,
      service: 'dynamodb',
      target: `DynamoDB_20120810.${pascal(r.action)}`,
      version: '1.0',
      body: input,
    });
    const body = asJson(result.body);
    return sdk ? body : { ...(isObject(body) ? body : {}), ...sdkMetadata(result) };
  } catch (e) {
    throw serviceTaskError('DynamoDB', e, sdk);
  }
}

async function snsPublish(deps: IntegrationDeps, r: ParsedResource, input: Json): Promise<Json> {
  if (r.action !== 'publish')
    throw new StatesTaskError('States.Runtime', `sns:${r.action} is not supported locally`);
  if (!isObject(input))
    throw new StatesTaskError('States.Runtime', 'sns:publish Parameters must be an object');
  const params: Record<string, string> = { Action: 'Publish', Version: '2010-03-31' };
  for (const field of [
    'TopicArn',
    'TargetArn',
    'PhoneNumber',
    'Subject',
    'MessageStructure',
    'MessageGroupId',
    'MessageDeduplicationId',
  ]) {
    const value = input[field];
    if (typeof value === 'string') params[field] = value;
  }
  const message = input.Message;
  // A JSON Message is serialized by Step Functions before it reaches SNS.
  params.Message = typeof message === 'string' ? message : JSON.stringify(message ?? null);
  if (isObject(input.MessageAttributes)) {
    let n = 1;
    for (const [name, attr] of Object.entries(input.MessageAttributes)) {
      if (!isObject(attr)) continue;
      params[`MessageAttributes.entry.${n}.Name`] = name;
      params[`MessageAttributes.entry.${n}.Value.DataType`] = String(attr.DataType ?? 'String');
      if (typeof attr.StringValue === 'string')
        params[`MessageAttributes.entry.${n}.Value.StringValue`] = attr.StringValue;
      n++;
    }
  }
  try {
    const result = await callAwsQuery({
      endpoint: deps.endpoints.sns,
      region: deps.placement.region,
      service: 'sns',
      params,
    });
    const messageId = /<MessageId>([^<]*)<\/MessageId>/.exec(result.xml)?.[1] ?? '';
    return {
      MessageId: messageId,
      SdkHttpMetadata: { HttpStatusCode: result.statusCode },
      SdkResponseMetadata: { RequestId: result.requestId },
    };
  } catch (e) {
    throw serviceTaskError('SNS', e, false);
  }
}

function describeChild(child: ChildExecution, parsed: boolean): JsonObject {
  const data = (text: string | undefined): Json =>
    parsed && text !== undefined ? parsePayloadText(text) : (text ?? null);
  return {
    ExecutionArn: child.executionArn,
    Input: data(child.input),
    InputDetails: { Included: true },
    Name: child.name,
    ...(child.output === undefined ? {} : { Output: data(child.output), OutputDetails: { Included: true } }),
    StartDate: child.startDate.getTime(),
    StateMachineArn: child.stateMachineArn,
    Status: child.status,
    ...(child.stopDate ? { StopDate: child.stopDate.getTime() } : {}),
    ...(child.error === undefined ? {} : { Error: child.error }),
    ...(child.cause === undefined ? {} : { Cause: child.cause }),
  };
}

async function startExecution(deps: IntegrationDeps, r: ParsedResource, attempt: TaskAttempt): Promise<Json> {
  const input = attempt.input;
  if (r.action !== 'startExecution' || !isObject(input) || typeof input.StateMachineArn !== 'string') {
    throw new StatesTaskError(
      'States.Runtime',
      'states:startExecution Parameters must include StateMachineArn',
    );
  }
  const childInput =
    input.Input === undefined
      ? '{}'
      : typeof input.Input === 'string'
        ? input.Input
        : JSON.stringify(input.Input);
  let started: { executionArn: string; startDate: Date };
  try {
    started = deps.startExecution(
      input.StateMachineArn,
      childInput,
      typeof input.Name === 'string' ? input.Name : undefined,
    );
  } catch (e) {
    const code = e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : 'StatesException';
    throw new StatesTaskError(
      `StepFunctions.${withException(code)}`,
      e instanceof Error ? e.message : String(e),
    );
  }
  const response: JsonObject = { ExecutionArn: started.executionArn, StartDate: started.startDate.getTime() };
  if (r.pattern !== 'sync' && r.pattern !== 'sync:2') return response;
  attempt.submitted(response);
  const stopChild = () =>
    deps.stopExecution(started.executionArn, 'States.Aborted', 'The parent execution was stopped');
  attempt.signal.addEventListener('abort', stopChild, { once: true });
  try {
    const child = await deps.waitForExecution(started.executionArn);
    const described = describeChild(child, r.pattern === 'sync:2');
    if (child.status === 'SUCCEEDED') return described;
    throw new StatesTaskError('States.TaskFailed', JSON.stringify(described));
  } finally {
    attempt.signal.removeEventListener('abort', stopChild);
  }
}

/** Runs one attempt of a Task state's resource and returns its result (before ResultSelector/ResultPath). */
export async function runIntegration(
  deps: IntegrationDeps,
  r: ParsedResource,
  attempt: TaskAttempt,
): Promise<Json> {
  let output: Json;
  if (r.kind === 'lambda') output = await invokeLambdaOrThrow(deps, r.resource, attempt.input);
  else if (r.service === 'lambda') output = await lambdaInvoke(deps, attempt.input);
  else if (r.service === 'sagemaker' || r.service === 'aws-sdk:sagemaker')
    output = await sageMaker(deps, r, attempt);
  else if (r.service === 'dynamodb' || r.service === 'aws-sdk:dynamodb')
    output = await dynamoDb(deps, r, attempt.input);
  else if (r.service === 'sns') output = await snsPublish(deps, r, attempt.input);
  else if (r.service === 'states') output = await startExecution(deps, r, attempt);
  else
    throw new StatesTaskError(
      'States.Runtime',
      `Task resource ${r.resourceType}:${r.resource} is not supported locally`,
    );
  if (r.pattern !== 'waitForTaskToken') return output;
  if (!attempt.tokenCompletion) throw new StatesTaskError('States.Runtime', 'no task token was issued');
  attempt.submitted(output);
  return attempt.tokenCompletion;
}
