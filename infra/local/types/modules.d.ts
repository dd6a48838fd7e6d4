// Minimal declarations for the emulator packages that ship no types.
declare module 's3rver' {
  interface S3rverOptions {
    port?: number;
    address?: string;
    silent?: boolean;
    directory: string;
    allowMismatchedSignatures?: boolean;
    resetOnClose?: boolean;
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
    on(event: 'event', listener: (event: { Records?: unknown[] }) => void): this;
  }
}

declare module 'dynalite' {
  import type { Server } from 'node:http';
  export default function dynalite(options: Record<string, unknown>): Server;
}
