/** The local SageMaker emulator on its own s3rver, with SDK clients bound to both, for a test file. */
import type { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { localS3Client } from '../../infra/local/clients.ts';
import { LOCAL_CREDENTIALS } from '../../infra/local/engines/credentials.ts';
import { type S3Engine, startS3 } from '../../infra/local/engines/s3.ts';
import {
  type SageMakerEmulator,
  type SageMakerOptions,
  startSageMaker,
} from '../../infra/local/sagemaker/index.ts';

/** Running engines and clients; `stop()` destroys the clients and stops both engines. */
export interface SageMakerRig {
  readonly s3Engine: S3Engine;
  readonly emulator: SageMakerEmulator;
  /** No SDK retries, so an injected fault reaches the test as it is. */
  readonly sm: SageMakerClient;
  readonly runtime: SageMakerRuntimeClient;
  readonly s3: S3Client;
  stop(): Promise<void>;
}

/** Starts s3rver and the SageMaker emulator reading from it, with `options` but the S3 endpoint. */
export async function startSageMakerRig(
  options: Omit<SageMakerOptions, 's3Endpoint'>,
): Promise<SageMakerRig> {
  const s3Engine = await startS3();
  const emulator = await startSageMaker({ ...options, s3Endpoint: s3Engine.endpoint });
  const clientConfig = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 };
  const sm = new SageMakerClient({ ...clientConfig, endpoint: emulator.endpoint });
  const runtime = new SageMakerRuntimeClient({ ...clientConfig, endpoint: emulator.runtimeEndpoint });
  const s3 = localS3Client(s3Engine.endpoint);
  return {
    s3Engine,
    emulator,
    sm,
    runtime,
    s3,
    async stop() {
      sm.destroy();
      runtime.destroy();
      s3.destroy();
      await emulator.stop();
      await s3Engine.stop();
    },
  };
}
