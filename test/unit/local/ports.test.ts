import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { assertPortFree, waitUntil } from '../../../infra/local/ports.ts';

describe('waitUntil', () => {
  it('gives up at the deadline when a probe never settles', async () => {
    // Prepare
    const started = Date.now();
    // Act
    const waiting = waitUntil('a silent port', () => new Promise(() => {}), 300);
    // Assess
    await expect(waiting).rejects.toThrow(/a silent port was not ready after 300 ms/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('fails at once with the reason of an abort, without waiting for the deadline', async () => {
    // Prepare
    const died = new AbortController();
    setTimeout(() => died.abort(new Error('the engine exited')), 100);
    const started = Date.now();
    // Act
    const waiting = waitUntil('an engine', () => new Promise(() => {}), 60_000, died.signal);
    // Assess
    await expect(waiting).rejects.toThrow('the engine exited');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('retries a failing probe until it succeeds', async () => {
    let calls = 0;
    await waitUntil('a flaky probe', async () => {
      calls += 1;
      if (calls < 3) throw new Error('not yet');
    });
    expect(calls).toBe(3);
  });
});

describe('assertPortFree', () => {
  it('rejects a taken port with a message naming it, and accepts a free one', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as AddressInfo).port;
    try {
      await expect(assertPortFree(port, 's3rver')).rejects.toThrow(
        `s3rver cannot listen on 127.0.0.1:${port}: the port is in use`,
      );
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
    await expect(assertPortFree(port, 's3rver')).resolves.toBeUndefined();
  });
});
