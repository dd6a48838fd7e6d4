/** The Step Functions API over HTTP: AWS JSON 1.0, `X-Amz-Target: AWSStepFunctions.<Op>`. */
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import * as z from 'zod';
import { readBody, toAwsJson } from '../http.ts';
import { SfnApiError } from './errors.ts';
import type { StepFunctionsService } from './service.ts';

const ExecutionArnSchema = z.string().min(1).max(2048);
const StatusSchema = z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']);

const schemas = {
  StartExecution: z.looseObject({
    stateMachineArn: z.string().min(1),
    name: z.string().optional(),
    input: z.string().optional(),
  }),
  DescribeExecution: z.looseObject({ executionArn: ExecutionArnSchema }),
  ListExecutions: z.looseObject({
    stateMachineArn: z.string().min(1),
    statusFilter: StatusSchema.optional(),
    maxResults: z.number().int().min(0).max(1000).optional(),
    nextToken: z.string().optional(),
  }),
  GetExecutionHistory: z.looseObject({
    executionArn: ExecutionArnSchema,
    maxResults: z.number().int().min(0).max(1000).optional(),
    reverseOrder: z.boolean().optional(),
    nextToken: z.string().optional(),
    includeExecutionData: z.boolean().optional(),
  }),
  StopExecution: z.looseObject({
    executionArn: ExecutionArnSchema,
    error: z.string().max(256).optional(),
    cause: z.string().max(32768).optional(),
  }),
  SendTaskSuccess: z.looseObject({ taskToken: z.string().min(1).max(2048), output: z.string() }),
  SendTaskFailure: z.looseObject({
    taskToken: z.string().min(1).max(2048),
    error: z.string().max(256).optional(),
    cause: z.string().max(32768).optional(),
  }),
  SendTaskHeartbeat: z.looseObject({ taskToken: z.string().min(1).max(2048) }),
  ListStateMachines: z.looseObject({
    maxResults: z.number().int().min(0).max(1000).optional(),
    nextToken: z.string().optional(),
  }),
  DescribeStateMachine: z.looseObject({ stateMachineArn: z.string().min(1) }),
} as const;

type Operation = keyof typeof schemas;

function isOperation(name: string): name is Operation {
  return Object.hasOwn(schemas, name);
}

function page<T>(
  items: readonly T[],
  maxResults: number | undefined,
  nextToken: string | undefined,
  defaultSize: number,
) {
  const start = nextToken === undefined ? 0 : Number.parseInt(nextToken, 10);
  if (!Number.isInteger(start) || start < 0 || start > items.length) {
    throw new SfnApiError('InvalidToken', `Invalid Token: '${nextToken}'`);
  }
  const size = maxResults === undefined || maxResults === 0 ? defaultSize : maxResults;
  const slice = items.slice(start, start + size);
  return { slice, next: start + size < items.length ? String(start + size) : undefined };
}

/** Routes one parsed request to the service. */
function dispatch(service: StepFunctionsService, operation: Operation, body: unknown): unknown {
  const parse = <S extends z.ZodType>(schema: S): z.infer<S> => {
    const parsed = schema.safeParse(body);
    if (parsed.success) return parsed.data;
    const problems = parsed.error.issues.map(
      (i) => `Value at '${i.path.join('.')}' failed to satisfy constraint: ${i.message}`,
    );
    throw new SfnApiError(
      'ValidationException',
      `${problems.length} validation error(s) detected: ${problems.join('; ')}`,
    );
  };
  switch (operation) {
    case 'StartExecution': {
      const r = parse(schemas.StartExecution);
      return service.startExecution(r.stateMachineArn, r.input, r.name);
    }
    case 'DescribeExecution':
      return service.describeExecution(parse(schemas.DescribeExecution).executionArn);
    case 'ListExecutions': {
      const r = parse(schemas.ListExecutions);
      const { slice, next } = page(
        service.listExecutions(
          r.stateMachineArn,
          r.statusFilter === 'PENDING_REDRIVE' ? undefined : r.statusFilter,
        ),
        r.maxResults,
        r.nextToken,
        100,
      );
      return { executions: slice, ...(next === undefined ? {} : { nextToken: next }) };
    }
    case 'GetExecutionHistory': {
      const r = parse(schemas.GetExecutionHistory);
      const events = service.history(r.executionArn, r.includeExecutionData ?? true);
      if (r.reverseOrder) events.reverse();
      const { slice, next } = page(events, r.maxResults, r.nextToken, 100);
      return { events: slice, ...(next === undefined ? {} : { nextToken: next }) };
    }
    case 'StopExecution': {
      const r = parse(schemas.StopExecution);
      return service.stopExecution(r.executionArn, r.error, r.cause);
    }
    case 'SendTaskSuccess': {
      const r = parse(schemas.SendTaskSuccess);
      service.sendTaskSuccess(r.taskToken, r.output);
      return {};
    }
    case 'SendTaskFailure': {
      const r = parse(schemas.SendTaskFailure);
      service.sendTaskFailure(r.taskToken, r.error, r.cause);
      return {};
    }
    case 'SendTaskHeartbeat':
      service.sendTaskHeartbeat(parse(schemas.SendTaskHeartbeat).taskToken);
      return {};
    case 'ListStateMachines': {
      const r = parse(schemas.ListStateMachines);
      const { slice, next } = page(service.listStateMachines(), r.maxResults, r.nextToken, 100);
      return { stateMachines: slice, ...(next === undefined ? {} : { nextToken: next }) };
    }
    case 'DescribeStateMachine':
      return service.describeStateMachine(parse(schemas.DescribeStateMachine).stateMachineArn);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
  res.end(toAwsJson(body));
}

/** An HTTP server (not yet listening) for the service. */
export function createStepFunctionsServer(service: StepFunctionsService): Server {
  return createServer((req, res) => {
    readBody(req)
      .then((buffer) => {
        const text = buffer.toString('utf8');
        const target = req.headers['x-amz-target'];
        const operation =
          typeof target === 'string' && target.startsWith('AWSStepFunctions.') ? target.slice(17) : '';
        if (req.method !== 'POST' || !isOperation(operation)) {
          throw new SfnApiError(
            'UnknownOperationException',
            `The local Step Functions service does not implement '${String(target)}'`,
          );
        }
        let body: unknown;
        try {
          body = text === '' ? {} : JSON.parse(text);
        } catch {
          throw new SfnApiError('SerializationException', 'The request body is not valid JSON');
        }
        send(res, 200, dispatch(service, operation, body));
      })
      .catch((e: unknown) => {
        if (e instanceof SfnApiError) return send(res, e.statusCode, { __type: e.code, message: e.message });
        send(res, 500, {
          __type: 'InternalFailure',
          message: 'The request processing has failed because of an unknown error',
        });
      });
  });
}
