import { createServer } from 'node:net';

/** Asks the OS for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Polls `probe` until it resolves, or fails after `timeoutMs` with the last error. A probe that
 * hangs (a port that accepts TCP but never answers) is cut off at the deadline; an abort of `signal`
 * fails at once with its reason.
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<unknown>,
  timeoutMs = 60_000,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let remaining = timeoutMs; remaining > 0; remaining = deadline - Date.now()) {
    signal?.throwIfAborted();
    const cut = new AbortController();
    const stop = AbortSignal.any(signal ? [signal, cut.signal] : [cut.signal]);
    const timer = setTimeout(() => cut.abort(new Error(`no answer within ${timeoutMs} ms`)), remaining);
    const stopped = new Promise<never>((_, reject) =>
      stop.addEventListener('abort', () => reject(stop.reason), { once: true }),
    );
    try {
      await Promise.race([probe(), stopped]);
      return;
    } catch (e) {
      signal?.throwIfAborted();
      last = e;
    } finally {
      clearTimeout(timer);
      cut.abort();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `${what} was not ready after ${timeoutMs} ms: ${last instanceof Error ? last.message : String(last)}`,
  );
}

/** Fails with a clear message when `port` on 127.0.0.1 is taken (some servers hang instead). */
export function assertPortFree(port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `${what} cannot listen on 127.0.0.1:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`,
        ),
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}
