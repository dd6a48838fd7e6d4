/** Task tokens of `.waitForTaskToken` tasks: issued per attempt, completed by SendTask* calls. */
import { randomUUID } from 'node:crypto';
import type { Json } from './definition.ts';
import { SfnApiError, StatesTaskError } from './errors.ts';

interface Pending {
  readonly executionArn: string;
  resolve(output: Json): void;
  reject(error: Error): void;
  heartbeat?: () => void;
}

/** What a waiting task holds. */
export interface IssuedToken {
  readonly token: string;
  /** Settles with SendTaskSuccess's output, or rejects with SendTaskFailure's error or a timeout. */
  readonly completion: Promise<Json>;
  /** Withdraws the token (task aborted or timed out); later SendTask* calls get TaskTimedOut. */
  cancel(reason: Error): void;
}

/** Decoded content of a local token. */
interface TokenBody {
  readonly v: 1;
  readonly e: string;
  readonly s: string;
  readonly n: string;
}

function decode(token: string): TokenBody | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const body = parsed as Record<string, unknown>;
    if (
      body.v !== 1 ||
      typeof body.e !== 'string' ||
      typeof body.s !== 'string' ||
      typeof body.n !== 'string'
    ) {
      return undefined;
    }
    return { v: 1, e: body.e, s: body.s, n: body.n };
  } catch {
    return undefined;
  }
}

/** Issues and completes task tokens. */
export class TaskTokens {
  private readonly pending = new Map<string, Pending>();
  private readonly closed = new Set<string>();

  /** Issues a unique token for one attempt of a waiting task. */
  issue(executionArn: string, stateName: string, heartbeatSeconds?: number): IssuedToken {
    const body: TokenBody = { v: 1, e: executionArn, s: stateName, n: randomUUID() };
    const token = Buffer.from(JSON.stringify(body)).toString('base64url');
    let timer: NodeJS.Timeout | undefined;
    const completion = new Promise<Json>((resolve, reject) => {
      const settle = () => {
        if (timer) clearTimeout(timer);
        this.pending.delete(token);
        this.closed.add(token);
      };
      const entry: Pending = {
        executionArn,
        resolve: (output) => {
          settle();
          resolve(output);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      };
      if (heartbeatSeconds !== undefined) {
        const arm = () => {
          if (timer) clearTimeout(timer);
          timer = setTimeout(
            () => entry.reject(new StatesTaskError('States.HeartbeatTimeout', 'Task heartbeat timed out')),
            heartbeatSeconds * 1000,
          );
        };
        entry.heartbeat = arm;
        arm();
      }
      this.pending.set(token, entry);
    });
    return {
      token,
      completion,
      cancel: (reason) => this.pending.get(token)?.reject(reason),
    };
  }

  succeed(token: string, output: Json): void {
    this.find(token).resolve(output);
  }

  fail(token: string, error: string | undefined, cause: string | undefined): void {
    // AWS reports an unnamed SendTaskFailure with an empty error name, which only States.ALL catches.
    this.find(token).reject(new StatesTaskError(error ?? '', cause ?? ''));
  }

  heartbeat(token: string): void {
    this.find(token).heartbeat?.();
  }

  /** Rejects every token of an execution (it was stopped or ended). */
  cancelExecution(executionArn: string, reason: Error): void {
    for (const entry of [...this.pending.values()])
      if (entry.executionArn === executionArn) entry.reject(reason);
  }

  private find(token: string): Pending {
    const entry = this.pending.get(token);
    if (entry) return entry;
    if (this.closed.has(token))
      throw new SfnApiError('TaskTimedOut', "Task Timed Out: 'Provided task does not exist anymore'");
    if (!decode(token)) throw new SfnApiError('InvalidToken', 'Invalid Token');
    throw new SfnApiError('TaskDoesNotExist', 'Task does not exist');
  }
}
