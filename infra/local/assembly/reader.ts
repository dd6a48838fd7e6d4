/**
 * Turns the resolved stack templates of a cloud assembly into the local resource model, one
 * resource kind at a time (functions, tables, state machines, schedules, event rules, stream
 * mappings, REST and HTTP routes), collecting a warning for each resource the local cloud skips.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPlainStatistic, isSupportedExtendedStatistic } from '../cloudwatch/statistics.ts';
import type {
  LocalAlarm,
  LocalComparisonOperator,
  LocalDeliveryStream,
  LocalEventRule,
  LocalFunction,
  LocalIndex,
  LocalKey,
  LocalObjectLock,
  LocalResourceRef,
  LocalRoute,
  LocalSchedule,
  LocalStateMachine,
  LocalStreamMapping,
  LocalTable,
  LocalTreatMissingData,
} from '../model.ts';
import { AssemblyReadError, type AssetIndex } from './manifest.ts';
import {
  type CfnResource,
  hash,
  isObject,
  type JsonObject,
  type JsonValue,
  type StackInfo,
  TemplateResolutionError,
  type TemplateResolver,
} from './resolver.ts';

/** A literal string property of a resource (KeySpec, KeyUsage: never intrinsics in practice). */
export function stringProperty(resource: CfnResource | undefined, name: string): string | undefined {
  const value = resource?.Properties?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** A bucket's Object Lock default retention, when it has Object Lock on with one. */
export function objectLockOf(resource: CfnResource | undefined): { objectLock?: LocalObjectLock } {
  const props = resource?.Properties;
  if (props?.ObjectLockEnabled !== true) return {};
  const config = props.ObjectLockConfiguration;
  const rule = isObject(config) && isObject(config.Rule) ? config.Rule : undefined;
  const retention = rule && isObject(rule.DefaultRetention) ? rule.DefaultRetention : undefined;
  const mode = retention?.Mode === 'COMPLIANCE' ? 'COMPLIANCE' : 'GOVERNANCE';
  const days =
    typeof retention?.Days === 'number'
      ? retention.Days
      : typeof retention?.Years === 'number'
        ? retention.Years * 365
        : 0;
  // Object Lock without a default retention protects nothing until an object gets its own.
  return days > 0 ? { objectLock: { mode, days } } : {};
}

/** Whether a bucket resource sends its events to EventBridge. */
export function eventBridgeEnabled(resource: CfnResource | undefined): boolean {
  const config = resource?.Properties?.NotificationConfiguration;
  const eb = isObject(config) ? config.EventBridgeConfiguration : undefined;
  return isObject(eb) && eb.EventBridgeEnabled === true;
}

/** Turns the resolved templates into the local model, one resource kind at a time. */
export class AssemblyReader {
  readonly warnings: string[] = [];

  constructor(
    private readonly resolver: TemplateResolver,
    private readonly stacks: readonly StackInfo[],
    private readonly assets: AssetIndex,
  ) {}

  /** Resources of the given types whose Condition (if any) holds. */
  private each(types: readonly string[]): { stack: StackInfo; id: string; resource: CfnResource }[] {
    const out: { stack: StackInfo; id: string; resource: CfnResource }[] = [];
    for (const stack of this.stacks) {
      for (const [id, resource] of Object.entries(stack.resources)) {
        if (!types.includes(resource.Type)) continue;
        if (resource.Condition !== undefined && !this.resolver.condition(stack, id, resource.Condition))
          continue;
        out.push({ stack, id, resource });
      }
    }
    return out;
  }

  private props(stack: StackInfo, id: string, resource: CfnResource): JsonObject {
    const out = this.resolver.resolve(stack, id, resource.Properties ?? {});
    return isObject(out) ? out : {};
  }

  /** Resources of one type as `LocalResourceRef`s, with the attributes `more` reads. */
  simple<T extends { arn: string }>(
    type: string,
    more: (stack: StackInfo, id: string) => T,
  ): (Omit<LocalResourceRef, 'arn'> & T)[] {
    return this.each([type]).map(({ stack, id }) => ({
      stack: stack.name,
      logicalId: id,
      name: this.resolver.physicalName(stack, id),
      ...more(stack, id),
    }));
  }

  functions(): LocalFunction[] {
    const out: LocalFunction[] = [];
    for (const { stack, id, resource } of this.each(['AWS::Lambda::Function'])) {
      const p = this.props(stack, id, resource);
      const name = this.resolver.physicalName(stack, id);
      const code = isObject(p.Code) ? p.Code : {};
      let codeDir: string | undefined;
      if (typeof code.S3Key === 'string') {
        codeDir = this.assets.byObjectKey.get(code.S3Key);
        if (codeDir === undefined) {
          throw new AssemblyReadError(
            `${stack.name}/${id}: Code.S3Key ${code.S3Key} matches no asset in the assembly's *.assets.json`,
          );
        }
      } else if (typeof code.ZipFile === 'string') {
        codeDir = join(tmpdir(), 'mlops-local-inline', hash(code.ZipFile).slice(0, 16));
        mkdirSync(codeDir, { recursive: true });
        writeFileSync(join(codeDir, 'index.js'), code.ZipFile);
      } else {
        this.warnings.push(
          `${stack.name}/${id}: container-image or external code is not run locally; skipped`,
        );
        continue;
      }
      const variables =
        isObject(p.Environment) && isObject(p.Environment.Variables) ? p.Environment.Variables : {};
      const environment: Record<string, string> = {};
      for (const [k, v] of Object.entries(variables)) {
        environment[k] = typeof v === 'string' ? v : JSON.stringify(v);
      }
      const logging = isObject(p.LoggingConfig) ? p.LoggingConfig : {};
      out.push({
        stack: stack.name,
        logicalId: id,
        name,
        arn: this.resolver.attribute(stack, id, 'Arn'),
        codeDir,
        handler: typeof p.Handler === 'string' ? p.Handler : 'index.handler',
        runtime: typeof p.Runtime === 'string' ? p.Runtime : 'nodejs22.x',
        timeoutSeconds: typeof p.Timeout === 'number' ? p.Timeout : 3,
        memoryMb: typeof p.MemorySize === 'number' ? p.MemorySize : 128,
        environment,
        description: typeof p.Description === 'string' ? p.Description : undefined,
        logGroupName: typeof logging.LogGroup === 'string' ? logging.LogGroup : `/aws/lambda/${name}`,
      });
    }
    return out;
  }

  tables(): LocalTable[] {
    return this.each(['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable']).map(
      ({ stack, id, resource }) => {
        const p = this.props(stack, id, resource);
        const types = new Map<string, LocalKey['type']>();
        for (const a of Array.isArray(p.AttributeDefinitions) ? p.AttributeDefinitions : []) {
          if (isObject(a) && typeof a.AttributeName === 'string' && typeof a.AttributeType === 'string') {
            types.set(a.AttributeName, a.AttributeType === 'N' ? 'N' : a.AttributeType === 'B' ? 'B' : 'S');
          }
        }
        const keys = (schema: JsonValue | undefined): { partitionKey: LocalKey; sortKey?: LocalKey } => {
          const list = Array.isArray(schema) ? schema.filter(isObject) : [];
          const key = (type: string): LocalKey | undefined => {
            const entry = list.find((k) => k.KeyType === type);
            if (entry === undefined || typeof entry.AttributeName !== 'string') return undefined;
            const attrType = types.get(entry.AttributeName);
            if (attrType === undefined) {
              throw new TemplateResolutionError(
                `${stack.name}/${id}: key ${entry.AttributeName} has no AttributeDefinitions entry`,
              );
            }
            return { name: entry.AttributeName, type: attrType };
          };
          const partitionKey = key('HASH');
          if (partitionKey === undefined)
            throw new TemplateResolutionError(`${stack.name}/${id}: no HASH key`);
          const sortKey = key('RANGE');
          return sortKey === undefined ? { partitionKey } : { partitionKey, sortKey };
        };
        const indexes = (list: JsonValue | undefined): LocalIndex[] =>
          (Array.isArray(list) ? list.filter(isObject) : []).map((ix) => {
            const projection = isObject(ix.Projection) ? ix.Projection : {};
            const type = projection.ProjectionType;
            return {
              name: String(ix.IndexName),
              ...keys(ix.KeySchema),
              projectionType: type === 'KEYS_ONLY' || type === 'INCLUDE' ? type : 'ALL',
              nonKeyAttributes: Array.isArray(projection.NonKeyAttributes)
                ? projection.NonKeyAttributes.map(String)
                : undefined,
            };
          });
        const ttl = isObject(p.TimeToLiveSpecification) ? p.TimeToLiveSpecification : {};
        const stream = isObject(p.StreamSpecification) ? p.StreamSpecification : {};
        const name = this.resolver.physicalName(stack, id);
        return {
          stack: stack.name,
          logicalId: id,
          name,
          arn: this.resolver.attribute(stack, id, 'Arn'),
          ...keys(p.KeySchema),
          indexes: indexes(p.GlobalSecondaryIndexes),
          localIndexes: indexes(p.LocalSecondaryIndexes),
          ttlAttribute:
            ttl.Enabled === true && typeof ttl.AttributeName === 'string' ? ttl.AttributeName : undefined,
          streamViewType: typeof stream.StreamViewType === 'string' ? stream.StreamViewType : undefined,
        };
      },
    );
  }

  stateMachines(): LocalStateMachine[] {
    return this.each(['AWS::StepFunctions::StateMachine']).map(({ stack, id, resource }) => {
      const raw = resource.Properties ?? {};
      let definition: string;
      if (raw.DefinitionString !== undefined) {
        definition = this.resolver.string(stack, id, raw.DefinitionString);
      } else if (raw.Definition !== undefined) {
        definition = JSON.stringify(this.resolver.resolve(stack, id, raw.Definition));
      } else if (raw.DefinitionS3Location !== undefined) {
        const location = this.resolver.resolve(stack, id, raw.DefinitionS3Location);
        const key = isObject(location) ? location.Key : undefined;
        const file = typeof key === 'string' ? this.assets.byObjectKey.get(key) : undefined;
        if (file === undefined) {
          throw new AssemblyReadError(`${stack.name}/${id}: DefinitionS3Location matches no file asset`);
        }
        definition = readFileSync(file, 'utf8');
      } else {
        throw new AssemblyReadError(`${stack.name}/${id}: the state machine has no definition`);
      }
      const substitutions = this.resolver.resolve(stack, id, raw.DefinitionSubstitutions ?? {});
      if (isObject(substitutions)) {
        definition = definition.replace(/\$\{([^}]+)\}/g, (whole, key: string) => {
          const v = substitutions[key];
          return v === undefined ? whole : typeof v === 'string' ? v : JSON.stringify(v);
        });
      }
      try {
        JSON.parse(definition);
      } catch (e) {
        throw new AssemblyReadError(
          `${stack.name}/${id}: the resolved definition is not JSON (${e instanceof Error ? e.message : String(e)})`,
        );
      }
      const type = raw.StateMachineType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD';
      return {
        stack: stack.name,
        logicalId: id,
        name: this.resolver.physicalName(stack, id),
        arn: this.resolver.attribute(stack, id, 'Arn'),
        definition,
        type,
      };
    });
  }

  schedules(): LocalSchedule[] {
    const out: LocalSchedule[] = [];
    for (const { stack, id, resource } of this.each(['AWS::Events::Rule', 'AWS::Scheduler::Schedule'])) {
      const p = this.props(stack, id, resource);
      const expression = p.ScheduleExpression;
      // Event-pattern rules are read by eventRules().
      if (typeof expression !== 'string') continue;
      const targets = resource.Type === 'AWS::Scheduler::Schedule' ? [p.Target] : p.Targets;
      out.push({
        stack: stack.name,
        logicalId: id,
        name: this.resolver.physicalName(stack, id),
        arn:
          resource.Type === 'AWS::Events::Rule'
            ? this.resolver.attribute(stack, id, 'Arn')
            : this.resolver.arn('scheduler', `schedule/default/${this.resolver.physicalName(stack, id)}`),
        expression,
        enabled: p.State === undefined || p.State === 'ENABLED',
        targets: (Array.isArray(targets) ? targets.filter(isObject) : []).map((t) => ({
          arn: String(t.Arn),
          input: typeof t.Input === 'string' ? t.Input : undefined,
        })),
      });
    }
    return out;
  }

  eventRules(): LocalEventRule[] {
    const out: LocalEventRule[] = [];
    for (const { stack, id, resource } of this.each(['AWS::Events::Rule'])) {
      const p = this.props(stack, id, resource);
      if (!isObject(p.EventPattern)) continue;
      if (p.EventBusName !== undefined && p.EventBusName !== 'default') {
        this.warnings.push(`${stack.name}/${id}: only the default event bus is emulated; skipped`);
        continue;
      }
      out.push({
        stack: stack.name,
        logicalId: id,
        name: this.resolver.physicalName(stack, id),
        arn: this.resolver.attribute(stack, id, 'Arn'),
        pattern: p.EventPattern,
        enabled: p.State === undefined || p.State === 'ENABLED',
        targets: (Array.isArray(p.Targets) ? p.Targets.filter(isObject) : []).map((t) => ({
          arn: String(t.Arn),
          input: typeof t.Input === 'string' ? t.Input : undefined,
        })),
      });
    }
    return out;
  }

  streamMappings(): LocalStreamMapping[] {
    const out: LocalStreamMapping[] = [];
    for (const { stack, id, resource } of this.each(['AWS::Lambda::EventSourceMapping'])) {
      const p = this.props(stack, id, resource);
      const source = String(p.EventSourceArn ?? '');
      const table = /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/([^/]+)\/stream\//.exec(source)?.[1];
      if (!table) {
        this.warnings.push(
          `${stack.name}/${id}: only DynamoDB stream event sources are emulated, got ${source}; skipped`,
        );
        continue;
      }
      const fn = String(p.FunctionName ?? '');
      const known = this.functionsCache().find((f) => f.arn === fn || f.name === fn);
      out.push({
        stack: stack.name,
        logicalId: id,
        functionArn: known?.arn ?? fn,
        tableName: table,
        batchSize: typeof p.BatchSize === 'number' ? p.BatchSize : 100,
        startingPosition: p.StartingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
        enabled: p.Enabled !== false,
        bisectOnError: p.BisectBatchOnFunctionError === true,
        maxRetries: typeof p.MaximumRetryAttempts === 'number' ? p.MaximumRetryAttempts : -1,
      });
    }
    return out;
  }

  /**
   * Metric alarms on one metric. Metric-math and anomaly-detection alarms (Metrics) are refused:
   * the local CloudWatch cannot evaluate them, and skipping one would leave a deployment unguarded.
   */
  alarms(): LocalAlarm[] {
    const operators: readonly LocalComparisonOperator[] = [
      'GreaterThanOrEqualToThreshold',
      'GreaterThanThreshold',
      'LessThanThreshold',
      'LessThanOrEqualToThreshold',
    ];
    const missingData: readonly LocalTreatMissingData[] = ['breaching', 'notBreaching', 'ignore', 'missing'];
    const out: LocalAlarm[] = [];
    for (const { stack, id, resource } of this.each(['AWS::CloudWatch::Alarm'])) {
      const p = this.props(stack, id, resource);
      const name = this.resolver.physicalName(stack, id);
      const where = `${stack.name}/${id} (alarm ${name})`;
      if (p.Metrics !== undefined || p.ThresholdMetricId !== undefined) {
        throw new AssemblyReadError(
          `${where}: metric-math and anomaly-detection alarms (Metrics) are not evaluated by the local CloudWatch; use a single-metric alarm (Namespace, MetricName, Statistic)`,
        );
      }
      const text = (key: string): string => {
        const v = p[key];
        if (typeof v !== 'string' || v === '') throw new AssemblyReadError(`${where}: ${key} is required`);
        return v;
      };
      // CloudFormation accepts numbers given as strings (a Parameter's value, for example).
      const num = (key: string): number | undefined => {
        const v = p[key];
        if (v === undefined) return undefined;
        const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN;
        if (!Number.isFinite(n))
          throw new AssemblyReadError(`${where}: ${key} must be a number, got ${JSON.stringify(v)}`);
        return n;
      };
      const required = (key: string): number => {
        const n = num(key);
        if (n === undefined) throw new AssemblyReadError(`${where}: ${key} is required`);
        return n;
      };
      const statistic = typeof p.Statistic === 'string' ? p.Statistic : undefined;
      const extendedStatistic = typeof p.ExtendedStatistic === 'string' ? p.ExtendedStatistic : undefined;
      if ((statistic === undefined) === (extendedStatistic === undefined)) {
        throw new AssemblyReadError(`${where}: exactly one of Statistic and ExtendedStatistic is required`);
      }
      if (statistic !== undefined && !isPlainStatistic(statistic)) {
        throw new AssemblyReadError(`${where}: unknown Statistic ${statistic}`);
      }
      if (extendedStatistic !== undefined && !isSupportedExtendedStatistic(extendedStatistic)) {
        throw new AssemblyReadError(
          `${where}: ExtendedStatistic ${extendedStatistic} is not computed locally; use a percentile such as p99`,
        );
      }
      const comparison = operators.find((o) => o === p.ComparisonOperator);
      if (comparison === undefined) {
        throw new AssemblyReadError(
          `${where}: ComparisonOperator ${String(p.ComparisonOperator)} is not evaluated locally; use one of ${operators.join(', ')}`,
        );
      }
      const treatMissingData = missingData.find((m) => m === p.TreatMissingData);
      if (p.TreatMissingData !== undefined && treatMissingData === undefined) {
        throw new AssemblyReadError(`${where}: unknown TreatMissingData ${String(p.TreatMissingData)}`);
      }
      const evaluationPeriods = required('EvaluationPeriods');
      if (!Number.isInteger(evaluationPeriods) || evaluationPeriods < 1) {
        throw new AssemblyReadError(
          `${where}: EvaluationPeriods must be an integer >= 1, got ${evaluationPeriods}`,
        );
      }
      const datapointsToAlarm = num('DatapointsToAlarm');
      if (
        datapointsToAlarm !== undefined &&
        (!Number.isInteger(datapointsToAlarm) ||
          datapointsToAlarm < 1 ||
          datapointsToAlarm > evaluationPeriods)
      ) {
        throw new AssemblyReadError(
          `${where}: DatapointsToAlarm must be an integer from 1 to EvaluationPeriods (${evaluationPeriods}), got ${datapointsToAlarm}`,
        );
      }
      const periodSeconds = required('Period');
      if (!(periodSeconds > 0))
        throw new AssemblyReadError(`${where}: Period must be > 0, got ${periodSeconds}`);
      const strings = (key: string): string[] => (Array.isArray(p[key]) ? p[key].map(String) : []);
      out.push({
        stack: stack.name,
        logicalId: id,
        name,
        arn: this.resolver.attribute(stack, id, 'Arn'),
        ...(typeof p.AlarmDescription === 'string' ? { description: p.AlarmDescription } : {}),
        namespace: text('Namespace'),
        metricName: text('MetricName'),
        dimensions: (Array.isArray(p.Dimensions) ? p.Dimensions.filter(isObject) : []).map((d) => ({
          name: String(d.Name),
          value: String(d.Value),
        })),
        ...(statistic === undefined ? {} : { statistic }),
        ...(extendedStatistic === undefined ? {} : { extendedStatistic }),
        ...(typeof p.Unit === 'string' ? { unit: p.Unit } : {}),
        periodSeconds,
        evaluationPeriods,
        ...(datapointsToAlarm === undefined ? {} : { datapointsToAlarm }),
        threshold: required('Threshold'),
        comparisonOperator: comparison,
        ...(treatMissingData === undefined ? {} : { treatMissingData }),
        actionsEnabled: p.ActionsEnabled !== false && p.ActionsEnabled !== 'false',
        alarmActions: strings('AlarmActions'),
        okActions: strings('OKActions'),
        insufficientDataActions: strings('InsufficientDataActions'),
      });
    }
    for (const { stack, id } of this.each(['AWS::CloudWatch::CompositeAlarm'])) {
      this.warnings.push(`${stack.name}/${id}: composite alarms are not evaluated locally; skipped`);
    }
    return out;
  }

  /**
   * Firehose streams with direct PUT as their source and S3 as their destination; the other
   * sources and destinations are skipped with a warning, as are the features not emulated.
   */
  deliveryStreams(): LocalDeliveryStream[] {
    const out: LocalDeliveryStream[] = [];
    for (const { stack, id, resource } of this.each(['AWS::KinesisFirehose::DeliveryStream'])) {
      const p = this.props(stack, id, resource);
      const name = this.resolver.physicalName(stack, id);
      const where = `${stack.name}/${id} (Firehose stream ${name})`;
      const type = p.DeliveryStreamType ?? 'DirectPut';
      const destination = isObject(p.ExtendedS3DestinationConfiguration)
        ? p.ExtendedS3DestinationConfiguration
        : isObject(p.S3DestinationConfiguration)
          ? p.S3DestinationConfiguration
          : undefined;
      if (type !== 'DirectPut' || destination === undefined) {
        this.warnings.push(
          `${where}: only direct PUT streams to S3 are emulated (got ${String(type)}${destination ? '' : ', no S3 destination'}); skipped`,
        );
        continue;
      }
      const bucketArn = String(destination.BucketARN ?? '');
      const bucket = /^arn:[^:]+:s3:::([^/]+)$/.exec(bucketArn)?.[1];
      if (bucket === undefined) {
        throw new AssemblyReadError(
          `${where}: BucketARN must be an S3 bucket ARN, got ${JSON.stringify(bucketArn)}`,
        );
      }
      const hints = isObject(destination.BufferingHints) ? destination.BufferingHints : {};
      const hint = (key: string, fallback: number, min: number): number => {
        const v = hints[key];
        if (v === undefined) return fallback;
        const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN;
        if (!Number.isFinite(n) || n < min)
          throw new AssemblyReadError(
            `${where}: BufferingHints.${key} must be a number >= ${min}, got ${JSON.stringify(v)}`,
          );
        return n;
      };
      const enabled = (key: string) => isObject(destination[key]) && destination[key].Enabled === true;
      for (const [key, what] of [
        ['ProcessingConfiguration', 'record transformation'],
        ['DataFormatConversionConfiguration', 'format conversion'],
        ['DynamicPartitioningConfiguration', 'dynamic partitioning'],
      ] as const) {
        if (enabled(key))
          this.warnings.push(`${where}: ${what} (${key}) is not emulated; records are delivered as sent`);
      }
      const compression = destination.CompressionFormat ?? 'UNCOMPRESSED';
      if (compression !== 'UNCOMPRESSED') {
        this.warnings.push(
          `${where}: CompressionFormat ${String(compression)} is not emulated; objects are written uncompressed`,
        );
      }
      const timeZone = destination.CustomTimeZone;
      if (timeZone !== undefined && timeZone !== 'UTC') {
        this.warnings.push(
          `${where}: CustomTimeZone ${String(timeZone)} is not emulated; prefixes are evaluated in UTC`,
        );
      }
      const sse = isObject(p.DeliveryStreamEncryptionConfigurationInput)
        ? p.DeliveryStreamEncryptionConfigurationInput
        : undefined;
      out.push({
        stack: stack.name,
        logicalId: id,
        name,
        arn: this.resolver.attribute(stack, id, 'Arn'),
        bucket,
        prefix: typeof destination.Prefix === 'string' ? destination.Prefix : '',
        ...(typeof destination.ErrorOutputPrefix === 'string' && destination.ErrorOutputPrefix !== ''
          ? { errorOutputPrefix: destination.ErrorOutputPrefix }
          : {}),
        bufferIntervalSeconds: hint('IntervalInSeconds', 300, 0),
        bufferSizeMb: hint('SizeInMBs', 5, 1),
        ...(typeof destination.FileExtension === 'string' && destination.FileExtension !== ''
          ? { fileExtension: destination.FileExtension }
          : {}),
        ...(sse === undefined
          ? {}
          : {
              encryption: {
                keyType: sse.KeyType === 'CUSTOMER_MANAGED_CMK' ? 'CUSTOMER_MANAGED_CMK' : 'AWS_OWNED_CMK',
                ...(typeof sse.KeyARN === 'string' ? { keyArn: sse.KeyARN } : {}),
              },
            }),
        ...(typeof destination.RoleARN === 'string' ? { roleArn: destination.RoleARN } : {}),
      });
    }
    return out;
  }

  private functionList: LocalFunction[] | undefined;
  private functionsCache(): LocalFunction[] {
    this.functionList ??= this.functions();
    return this.functionList;
  }

  /** Lambda ARN out of `arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations`. */
  private lambdaArnOfUri(uri: string): string | undefined {
    if (uri.startsWith('arn:aws:lambda:')) return uri;
    return /:lambda:path\/[^/]+\/functions\/(.+)\/invocations$/.exec(uri)?.[1];
  }

  restRoutes(): LocalRoute[] {
    const apis = new Map<string, { stack: StackInfo; id: string; binaryMediaTypes: string[] }>();
    for (const { stack, id, resource } of this.each(['AWS::ApiGateway::RestApi'])) {
      const p = this.props(stack, id, resource);
      const types = Array.isArray(p.BinaryMediaTypes) ? p.BinaryMediaTypes.map(String) : [];
      // CloudFormation spells `/` as `~1` in binary media types.
      apis.set(this.resolver.ref(stack, id), {
        stack,
        id,
        binaryMediaTypes: types.map((t) => t.replace('~1', '/')),
      });
    }
    const parents = new Map<string, { parent: string; part: string }>();
    const roots = new Set<string>();
    for (const { stack, id } of apis.values())
      roots.add(this.resolver.attribute(stack, id, 'RootResourceId'));
    for (const { stack, id, resource } of this.each(['AWS::ApiGateway::Resource'])) {
      const p = this.props(stack, id, resource);
      parents.set(this.resolver.ref(stack, id), { parent: String(p.ParentId), part: String(p.PathPart) });
    }
    const pathOf = (resourceId: string, depth = 0): string => {
      if (roots.has(resourceId)) return '';
      const node = parents.get(resourceId);
      if (node === undefined || depth > 64) {
        throw new TemplateResolutionError(`API Gateway resource ${resourceId} is not in any RestApi tree`);
      }
      return `${pathOf(node.parent, depth + 1)}/${node.part}`;
    };
    const stages = new Map<string, string[]>();
    const addStage = (apiId: JsonValue | undefined, stage: JsonValue | undefined) => {
      if (typeof apiId !== 'string' || typeof stage !== 'string') return;
      const list = stages.get(apiId) ?? [];
      if (!list.includes(stage)) list.push(stage);
      stages.set(apiId, list);
    };
    for (const { stack, id, resource } of this.each([
      'AWS::ApiGateway::Stage',
      'AWS::ApiGateway::Deployment',
    ])) {
      const p = this.props(stack, id, resource);
      addStage(p.RestApiId, p.StageName);
    }
    const out: LocalRoute[] = [];
    for (const { stack, id, resource } of this.each(['AWS::ApiGateway::Method'])) {
      const p = this.props(stack, id, resource);
      const apiId = String(p.RestApiId);
      const api = apis.get(apiId);
      const integration = isObject(p.Integration) ? p.Integration : {};
      const uri = typeof integration.Uri === 'string' ? integration.Uri : '';
      const functionArn = this.lambdaArnOfUri(uri);
      if (api === undefined || integration.Type !== 'AWS_PROXY' || functionArn === undefined) {
        this.warnings.push(
          `${stack.name}/${id}: only Lambda proxy integrations are served locally (got ${String(integration.Type)}); skipped`,
        );
        continue;
      }
      const path = pathOf(String(p.ResourceId)) || '/';
      const auth = p.AuthorizationType;
      const authorization =
        auth === 'AWS_IAM' || auth === 'COGNITO_USER_POOLS' || auth === 'CUSTOM' ? auth : 'NONE';
      const stageNames = stages.get(apiId) ?? [];
      if (stageNames.length === 0) this.warnings.push(`${stack.name}/${id}: the API has no stage; skipped`);
      for (const stageName of stageNames) {
        out.push({
          stack: stack.name,
          apiLogicalId: api.id,
          apiKind: 'rest',
          apiId,
          stageName,
          method: String(p.HttpMethod).toUpperCase(),
          path,
          authorization,
          functionArn,
          payloadFormatVersion: '1.0',
          binaryMediaTypes: api.binaryMediaTypes,
        });
      }
    }
    return out;
  }

  httpRoutes(): LocalRoute[] {
    const apis = new Map<string, { stack: StackInfo; id: string }>();
    for (const { stack, id, resource } of this.each(['AWS::ApiGatewayV2::Api'])) {
      const p = this.props(stack, id, resource);
      if (p.ProtocolType !== 'HTTP') {
        this.warnings.push(
          `${stack.name}/${id}: ${String(p.ProtocolType)} APIs are not served locally; skipped`,
        );
        continue;
      }
      apis.set(this.resolver.ref(stack, id), { stack, id });
    }
    if (apis.size === 0) return [];
    const integrations = new Map<string, { functionArn?: string; version: '1.0' | '2.0' }>();
    for (const { stack, id, resource } of this.each(['AWS::ApiGatewayV2::Integration'])) {
      const p = this.props(stack, id, resource);
      const uri = typeof p.IntegrationUri === 'string' ? p.IntegrationUri : '';
      integrations.set(this.resolver.ref(stack, id), {
        functionArn: p.IntegrationType === 'AWS_PROXY' ? this.lambdaArnOfUri(uri) : undefined,
        version: p.PayloadFormatVersion === '1.0' ? '1.0' : '2.0',
      });
    }
    const stages = new Map<string, string[]>();
    for (const { stack, id, resource } of this.each(['AWS::ApiGatewayV2::Stage'])) {
      const p = this.props(stack, id, resource);
      const apiId = String(p.ApiId);
      stages.set(apiId, [...(stages.get(apiId) ?? []), String(p.StageName)]);
    }
    const out: LocalRoute[] = [];
    for (const { stack, id, resource } of this.each(['AWS::ApiGatewayV2::Route'])) {
      const p = this.props(stack, id, resource);
      const apiId = String(p.ApiId);
      const api = apis.get(apiId);
      const target = typeof p.Target === 'string' ? p.Target.replace(/^integrations\//, '') : '';
      const integration = integrations.get(target);
      if (api === undefined || integration?.functionArn === undefined) {
        this.warnings.push(`${stack.name}/${id}: only Lambda proxy integrations are served locally; skipped`);
        continue;
      }
      const routeKey = String(p.RouteKey);
      const [method = 'ANY', path = '/{proxy+}'] = routeKey === '$default' ? [] : routeKey.split(' ');
      const auth = p.AuthorizationType;
      const authorization = auth === 'AWS_IAM' || auth === 'JWT' || auth === 'CUSTOM' ? auth : 'NONE';
      for (const stageName of stages.get(apiId) ?? ['$default']) {
        out.push({
          stack: stack.name,
          apiLogicalId: api.id,
          apiKind: 'http',
          apiId,
          stageName,
          method: method.toUpperCase(),
          path,
          authorization,
          functionArn: integration.functionArn,
          routeKey,
          payloadFormatVersion: integration.version,
        });
      }
    }
    return out;
  }
}
