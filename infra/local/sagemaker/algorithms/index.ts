/** The algorithms every local SageMaker emulator knows: one registration line per algorithm file. */
import type { AlgorithmRegistration } from '../algorithm.ts';
import { ECHO_ALGORITHM_IMAGE, echoAlgorithm } from './echo.ts';
import { XGBOOST_IMAGE_REPOSITORY, xgboostAlgorithm } from './xgboost.ts';

/** Built-in image-to-algorithm registrations. */
export const BUILT_IN_ALGORITHMS: readonly AlgorithmRegistration[] = [
  { image: ECHO_ALGORITHM_IMAGE, algorithm: echoAlgorithm },
  // SageMaker's built-in XGBoost: <account>.dkr.ecr.<region>.amazonaws.com/sagemaker-xgboost:<version>
  { image: XGBOOST_IMAGE_REPOSITORY, algorithm: xgboostAlgorithm },
];
