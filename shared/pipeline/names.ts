/**
 * SageMaker resource names for a run. SageMaker names allow 63 characters of [a-zA-Z0-9-] and
 * must be unique per account and region (training job names forever), so each name is derived
 * from the run ID, with a short hash of the exact run ID whenever the readable part had to be
 * shortened or cleaned, so two runs can never map to the same name.
 */
import { sha256Hex } from '../ledger/canonical.ts';
import type { BuildDatasetOutput } from './contracts.ts';

/** Longest SageMaker resource name. */
export const MAX_SAGEMAKER_NAME = 63;

/** Letters, digits and single hyphens, starting and ending with a letter or digit. */
function clean(text: string): string {
  return text
    .replace(/[^a-zA-Z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .replace(/-{2,}/g, '-');
}

/**
 * `<prefix>-<suffix>` as a SageMaker name: kept readable when it fits and needed no cleaning,
 * else shortened and made unique by 8 hex digits of sha256(prefix).
 */
export function sageMakerName(prefix: string, suffix: string): string {
  const tail = clean(suffix);
  const readable = clean(prefix);
  const plain = `${readable}-${tail}`;
  if (readable === prefix && plain.length <= MAX_SAGEMAKER_NAME && /^[a-zA-Z0-9]/.test(plain)) return plain;
  const hash = sha256Hex(prefix).slice(0, 8);
  const room = MAX_SAGEMAKER_NAME - tail.length - hash.length - 2;
  const head = readable.slice(0, Math.max(0, room)).replace(/-+$/, '');
  return [head, hash, tail].filter((p) => p !== '').join('-');
}

/** The SageMaker names of one run (the use case is part of them: two pipelines may share a run name). */
export function runResourceNames(useCase: string, runId: string): BuildDatasetOutput['names'] {
  const prefix = `${useCase}-${runId}`;
  return {
    trainingJob: sageMakerName(prefix, 'train'),
    candidateModel: sageMakerName(prefix, 'candidate'),
    candidateTransform: sageMakerName(prefix, 'cand-tf'),
    championTransform: sageMakerName(prefix, 'champ-tf'),
  };
}

/** The name of the SageMaker model that serves a model package version for batch transform. */
export function packageModelName(group: string, version: number): string {
  return sageMakerName(group, `v${version}`);
}

/** The model package group (the registry) of a use case in a stage. */
export function modelPackageGroupNameOf(stage: string, useCase: string): string {
  return `mlops-${stage}-${useCase}`;
}

/** The training state machine of a use case (the monitor derives its executions' ARNs from it). */
export function trainingStateMachineName(stage: string, useCase: string): string {
  return `mlops-${stage}-${useCase}-training`;
}
