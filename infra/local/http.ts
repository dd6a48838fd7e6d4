/** HTTP plumbing shared by the local emulators: reading bodies, listening and closing. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Reads a whole request body. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** JSON with dates as epoch seconds, the AWS JSON protocols' timestamp format. */
export function toAwsJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key];
    return raw instanceof Date ? raw.getTime() / 1000 : v;
  });
}

/** A server listening on 127.0.0.1. */
export interface LocalListener {
  readonly endpoint: string;
  readonly port: number;
  /** Drops open connections and closes the server. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (a free port when `port` is 0 or absent). */
export async function listenLocal(server: Server, port = 0): Promise<LocalListener> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An error an emulator returns to API callers in AWS's JSON shape (`__type`, `message`). */
export class AwsApiError extends Error {
  override readonly name: string = 'AwsApiError';

  constructor(
    /** AWS error code, for example `ValidationException` or `ExecutionDoesNotExist`. */
    readonly code: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

/** Sends an AWS JSON response (protocol 1.1 unless told) with a request ID. */
export function sendAwsJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  version: '1.0' | '1.1' = '1.1',
): void {
  res.writeHead(status, {
    'content-type': `application/x-amz-json-${version}`,
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(toAwsJson(body));
}

/** Sends `error` in the AWS JSON protocols' error shape, which the SDKs turn back into its code. */
export function sendAwsJsonError(
  res: ServerResponse,
  error: AwsApiError,
  extra: Record<string, unknown> = {},
): void {
  sendAwsJson(
    res,
    error.statusCode,
    { __type: error.code, message: error.message, Message: error.message, ...extra },
    { 'x-amzn-errortype': error.code },
  );
}
