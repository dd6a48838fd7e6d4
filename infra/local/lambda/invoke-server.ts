/** The Lambda Invoke API over HTTP, so that AWS SDK LambdaClient (and Step Functions) reach local functions. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocal, readBody } from '../http.ts';
import {
  FunctionNotFoundError,
  type InvokeOptions,
  type Invoker,
  type InvokeServer,
  MAX_SYNC_PAYLOAD_BYTES,
} from './api.ts';

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
  res.end(JSON.stringify({ Type: status < 500 ? 'User' : 'Service', message }));
}

function invocationType(value: string | string[] | undefined): InvokeOptions['invocationType'] | 'invalid' {
  if (value === undefined || value === 'RequestResponse') return 'RequestResponse';
  return value === 'Event' || value === 'DryRun' ? value : 'invalid';
}

async function handle(runtime: Invoker, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const match = INVOKE_PATH.exec(url.pathname);
  if (req.method !== 'POST' || !match?.[1]) {
    sendError(res, 404, 'UnknownOperationException', `${req.method} ${url.pathname} is not served locally`);
    return;
  }
  const name = decodeURIComponent(match[1]);
  const body = await readBody(req);
  if (body.length > MAX_SYNC_PAYLOAD_BYTES) {
    sendError(
      res,
      413,
      'RequestTooLargeException',
      'Request must be smaller than 6291456 bytes for the InvokeFunction operation',
    );
    return;
  }
  let payload: unknown;
  try {
    payload = body.length === 0 ? undefined : JSON.parse(body.toString('utf8'));
  } catch (e) {
    sendError(
      res,
      400,
      'InvalidRequestContentException',
      `Could not parse request body into json: ${String(e)}`,
    );
    return;
  }
  const type = invocationType(req.headers['x-amz-invocation-type']);
  if (type === 'invalid') {
    sendError(
      res,
      400,
      'InvalidParameterValueException',
      'X-Amz-Invocation-Type must be RequestResponse, Event or DryRun',
    );
    return;
  }
  const logType = req.headers['x-amz-log-type'] === 'Tail' ? 'Tail' : 'None';
  try {
    const result = await runtime.invoke(name, payload, { invocationType: type, logType });
    const headers: Record<string, string> = { 'x-amzn-requestid': result.requestId };
    if (result.executedVersion) headers['x-amz-executed-version'] = result.executedVersion;
    if (result.functionError) headers['x-amz-function-error'] = result.functionError;
    if (result.logTail !== undefined)
      headers['x-amz-log-result'] = Buffer.from(result.logTail).toString('base64');
    if (result.statusCode !== 200) {
      res.writeHead(result.statusCode, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': 'application/json' });
    res.end(JSON.stringify(result.payload ?? null));
  } catch (e) {
    if (e instanceof FunctionNotFoundError) {
      sendError(res, 404, 'ResourceNotFoundException', e.message);
      return;
    }
    sendError(res, 500, 'ServiceException', e instanceof Error ? e.message : String(e));
  }
}

/** Starts the Invoke API for `runtime` on 127.0.0.1; port 0 picks a free one. */
export async function startInvokeServer(runtime: Invoker, port = 0): Promise<InvokeServer> {
  const server = createServer((req, res) => {
    handle(runtime, req, res).catch((e: unknown) => {
      if (!res.headersSent)
        sendError(res, 500, 'ServiceException', e instanceof Error ? e.message : String(e));
      else res.destroy();
    });
  });
  const { endpoint, close } = await listenLocal(server, port);
  return { endpoint, stop: close };
}
