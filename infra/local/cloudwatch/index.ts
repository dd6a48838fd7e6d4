/** The local CloudWatch: metrics from PutMetricData, EMF log lines and the emulators, and alarms evaluated on them. */
export {
  type AlarmDefinition,
  type AlarmSnapshot,
  type AlarmTransition,
  InvalidAlarmDefinitionError,
} from './alarms.ts';
export { CloudWatchApiError } from './api-error.ts';
export { type EmfMetrics, parseEmf } from './emf.ts';
export {
  type AlarmEvaluation,
  type AlarmRule,
  type AlarmStateValue,
  evaluateAlarm,
  type PeriodDatapoint,
} from './evaluation.ts';
export { type MetricDatumInput, type MetricSink, MetricStore } from './metrics.ts';
export {
  type CloudWatchOptions,
  type LocalCloudWatch,
  type StatisticsDatapoint,
  type StatisticsQuery,
  startCloudWatch,
} from './server.ts';
export { percentile, statisticValue } from './statistics.ts';
