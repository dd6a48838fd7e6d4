import { describe, expect, it } from 'vitest';

import { MAX_SAGEMAKER_NAME, runResourceNames, sageMakerName } from '../../../shared/pipeline/names.ts';
import { failedStep, failureReason } from '../../../shared/pipeline/record.ts';
import { STEP_NAMES } from '../../../shared/pipeline/steps.ts';

const lambdaCause = (errorType: string, errorMessage: string) =>
  JSON.stringify({ errorType, errorMessage, trace: ['at x'] });

describe('failureReason', () => {
  it("takes a SageMaker job's FailureReason out of the Cause JSON", () => {
    const Cause = JSON.stringify({ TrainingJobName: 'j', FailureReason: 'ClientError: No S3 objects found' });
    expect(failureReason({ Error: 'States.TaskFailed', Cause })).toBe('ClientError: No S3 objects found');
  });

  it("takes a Lambda error's type and message", () => {
    expect(
      failureReason({
        Error: 'DataValidationError',
        Cause: lambdaCause('DataValidationError', 'minRows = 5'),
      }),
    ).toBe('DataValidationError: minRows = 5');
  });

  it('keeps a plain Cause and falls back to the error name', () => {
    expect(failureReason({ Error: 'States.Timeout', Cause: 'the task timed out' })).toBe(
      'the task timed out',
    );
    expect(failureReason({ Error: 'States.Timeout' })).toBe('States.Timeout');
  });
});

describe('failedStep', () => {
  const dataset = { datasetHash: 'x' };
  it('names the first step whose output is missing', () => {
    expect(failedStep({ input: {} }, { Error: 'Lambda.Unknown' })).toBe(STEP_NAMES.buildDataset);
    expect(failedStep({ input: {}, dataset, validation: {} }, { Error: 'States.TaskFailed' })).toBe(
      STEP_NAMES.train,
    );
  });

  it('attributes DataValidationError to ValidateData', () => {
    expect(failedStep({ input: {}, dataset }, { Error: 'DataValidationError' })).toBe(
      STEP_NAMES.validateData,
    );
  });

  it('tells the transform from Evaluate by the kind of error', () => {
    const state = { input: {}, dataset, validation: {}, trained: {}, candidate: {}, champion: {} };
    expect(failedStep(state, { Error: 'States.TaskFailed', Cause: '{"FailureReason":"x"}' })).toBe(
      STEP_NAMES.transform,
    );
    expect(
      failedStep(state, { Error: 'EvaluationInputError', Cause: lambdaCause('EvaluationInputError', 'x') }),
    ).toBe(STEP_NAMES.evaluate);
  });
});

describe('SageMaker resource names', () => {
  it('keeps short clean run IDs readable', () => {
    expect(runResourceNames('flight-delay', 'run-1')).toEqual({
      trainingJob: 'flight-delay-run-1-train',
      candidateModel: 'flight-delay-run-1-candidate',
      candidateTransform: 'flight-delay-run-1-cand-tf',
      championTransform: 'flight-delay-run-1-champ-tf',
    });
  });

  it('shortens long or unclean run IDs to 63 legal characters that stay unique', () => {
    const long = `manual_${'x'.repeat(70)}`;
    const a = runResourceNames('flight-delay', long);
    const b = runResourceNames('flight-delay', `${long}y`);
    for (const name of [...Object.values(a), ...Object.values(b)]) {
      expect(name.length).toBeLessThanOrEqual(MAX_SAGEMAKER_NAME);
      expect(name).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
    }
    expect(a.trainingJob).not.toBe(b.trainingJob);
    // Cleaning alone must not merge two run IDs.
    expect(sageMakerName('a_b', 'train')).not.toBe(sageMakerName('a.b', 'train'));
  });
});
