/** The local SageMaker emulator and its algorithm contract. */
export {
  AlgorithmError,
  type AlgorithmRegistration,
  AlgorithmRegistry,
  type InvocationResult,
  type LocalAlgorithm,
  type ServedModel,
  type TrainInput,
} from './algorithm.ts';
export { ECHO_ALGORITHM_IMAGE, echoAlgorithm } from './algorithms/echo.ts';
export { BUILT_IN_ALGORITHMS } from './algorithms/index.ts';
export { FaultInjector, type FaultSpec } from './faults.ts';
export { type SageMakerEmulator, type SageMakerOptions, startSageMaker } from './server.ts';
