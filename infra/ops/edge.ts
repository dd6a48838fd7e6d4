/**
 * Edge export on demand, for `mlops edge export|verify` and the tests: the pipeline's own export
 * function and parity gate (shared/pipeline/export-edge.ts), with the registered version's inputs
 * found from the ledger. The target (local cloud or AWS) is resolved as for every command.
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { UseCase } from '../../shared/config/use-case.ts';
import type { LedgerLocation, LedgerWriter } from '../../shared/ledger/append.ts';
import { kmsSigner } from '../../shared/ledger/signing.ts';
import {
  type EdgeBuilder,
  type EdgeExportResult,
  type EdgeVerification,
  edgeSourceOf,
  exportEdgeModel,
  verifyEdgeFile,
} from '../../shared/pipeline/export-edge.ts';
import { modelVersionOf, packageVersions } from '../../shared/pipeline/find-champion.ts';
import { modelPackageGroupNameOf } from '../../shared/pipeline/names.ts';
import { parseS3Uri } from '../../shared/s3.ts';
import { LOCAL_CREDENTIALS } from '../local/engines/credentials.ts';
import { documentClientFor, kmsClientFor, s3ClientFor, type Target } from './target.ts';

/** The target lacks something an edge command needs; the message names the option that supplies it. */
export class EdgeTargetError extends Error {
  override readonly name: string = 'EdgeTargetError';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
  }
}

/** A SageMaker client for the target. */
export function sageMakerClientFor(target: Target): SageMakerClient {
  const local = target.cloud;
  return new SageMakerClient(
    local
      ? { endpoint: local.endpoints.sagemaker, region: local.region, credentials: LOCAL_CREDENTIALS }
      : {},
  );
}

/** The newest approved version of a use case's model package group. */
export async function latestApprovedVersion(target: Target, stage: string, useCase: string): Promise<number> {
  const sagemaker = sageMakerClientFor(target);
  try {
    const group = modelPackageGroupNameOf(stage, useCase);
    const approved = (await packageVersions(sagemaker, group)).find((v) => v.status === 'Approved');
    if (!approved) {
      throw new EdgeTargetError(
        '--version',
        `${group} has no approved version; pass --version <N> to export another one`,
      );
    }
    return approved.version;
  } finally {
    sagemaker.destroy();
  }
}

/** The ledger on the target, for reading. */
function ledgerOf(target: Target): LedgerLocation {
  if (!target.ledgerTable) {
    throw new EdgeTargetError(
      '--table',
      'no ledger table: pass --table <name>, set MLOPS_LEDGER_TABLE, or start the local cloud',
    );
  }
  return { client: documentClientFor(target), tableName: target.ledgerTable };
}

/** The ledger on the target, appending as the pipeline does (signed with the ledger key). */
function ledgerWriterOf(target: Target): LedgerWriter {
  if (!target.signingKey) {
    throw new EdgeTargetError(
      '--signing-key',
      'no ledger signing key: pass --signing-key <key ARN>, set MLOPS_LEDGER_SIGNING_KEY, or start the local cloud',
    );
  }
  return { ...ledgerOf(target), signer: kmsSigner(kmsClientFor(target), target.signingKey) };
}

/** The claimed identity of a CLI caller, as the ledger's actor. */
export function cliActor(): string {
  return `cli/${userInfo().username}`;
}

/** What {@link exportEdgeOnDemand} needs. */
export interface EdgeExportRequest {
  /** The validated use case: its edge limits and decision threshold make the gate. */
  readonly useCase: UseCase;
  /** The package version to export. */
  readonly version: number;
  /**
   * Who exports, as recorded.
   * @default cliActor()
   */
  readonly actor?: string;
  /**
   * Bucket the file and manifest are published to.
   * @default - the bucket of the version's model archive (the artifacts bucket)
   */
  readonly artifactsBucket?: string;
  /**
   * How the ONNX file is built (a test passes one that corrupts it).
   * @default toOnnx
   */
  readonly build?: EdgeBuilder;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** Re-exports a registered version: the same function and gate as the pipeline's ExportEdge, one event per attempt. */
export async function exportEdgeOnDemand(
  target: Target,
  request: EdgeExportRequest,
): Promise<EdgeExportResult> {
  const ledger = ledgerWriterOf(target);
  const s3 = s3ClientFor(target);
  try {
    const modelVersion = modelVersionOf(request.useCase.name, request.version);
    const source = await edgeSourceOf(ledger, modelVersion);
    const time = (request.now ?? (() => new Date()))();
    return await exportEdgeModel({
      s3,
      ledger,
      useCase: request.useCase,
      source,
      artifactsBucket: request.artifactsBucket ?? parseS3Uri(source.modelArchiveUri).bucket,
      actor: request.actor ?? cliActor(),
      // One event per attempt: the time keeps a re-export apart from the pipeline's and from the last one.
      eventId: `${modelVersion}-edge-${time.toISOString().replace(/[-:.]/g, '')}`,
      now: () => time,
      ...(request.build ? { build: request.build } : {}),
    });
  } finally {
    s3.destroy();
    ledger.client.destroy();
  }
}

/** Runs the parity gate on the ONNX file at `path` against a registered version (`<useCase>:v<N>`). */
export async function verifyEdgeOnDemand(
  target: Target,
  useCases: readonly UseCase[],
  modelVersion: string,
  path: string,
): Promise<EdgeVerification> {
  const ledger = ledgerOf(target);
  const s3 = s3ClientFor(target);
  try {
    const onnx = new Uint8Array(await readFile(path));
    const source = await edgeSourceOf(ledger, modelVersion);
    const useCase = useCases.find((u) => u.name === source.useCase);
    if (!useCase) {
      throw new EdgeTargetError(
        '--against',
        `${modelVersion} belongs to use case ${source.useCase}, which use-cases/ does not define`,
      );
    }
    return await verifyEdgeFile(s3, useCase, source, onnx);
  } finally {
    s3.destroy();
    ledger.client.destroy();
  }
}
