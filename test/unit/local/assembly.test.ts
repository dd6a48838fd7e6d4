// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the templates hold CloudFormation Fn::Sub strings.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAssembly, TemplateResolutionError } from '../../../infra/local/assembly/index.ts';
import { AssemblyReadError } from '../../../infra/local/assembly/manifest.ts';
import type { LocalAssembly } from '../../../infra/local/model.ts';
import { synthFixtureApp } from '../../fixtures/local-app/app.ts';

/** Writes a minimal cloud assembly holding the given stacks (name → template). */
function writeAssembly(dir: string, stacks: Record<string, unknown>, region = 'eu-west-1'): string {
  mkdirSync(dir, { recursive: true });
  const artifacts: Record<string, unknown> = {};
  for (const [name, template] of Object.entries(stacks)) {
    writeFileSync(join(dir, `${name}.template.json`), JSON.stringify(template));
    artifacts[name] = {
      type: 'aws:cloudformation:stack',
      environment: `aws://unknown-account/${region}`,
      properties: { templateFile: `${name}.template.json` },
    };
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ version: '55.0.0', artifacts }));
  return dir;
}

describe('loadAssembly on the synthesized fixture app', () => {
  let work: string;
  let assembly: LocalAssembly;

  beforeAll(() => {
    // Prepare
    work = mkdtempSync(join(tmpdir(), 'assembly-test-'));
    // Act
    assembly = loadAssembly(synthFixtureApp(join(work, 'cdk.out')));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('finds every function with its bundled asset folder and template settings', () => {
    // Assess
    const byId = (prefix: string) => assembly.functions.find((f) => f.logicalId.startsWith(prefix));
    expect(assembly.functions.map((f) => f.logicalId.replace(/Function.*$/, '')).sort()).toEqual([
      'EnvDump',
      'NeedsEnv',
      'Sleepy',
      'SlowInit',
      'Steps',
      'Writer',
    ]);
    for (const fn of assembly.functions) {
      expect(existsSync(join(fn.codeDir, 'index.js'))).toBe(true);
      expect(fn.codeDir).toMatch(/asset\.[0-9a-f]{64}$/);
      expect(fn.handler).toBe('index.handler');
      expect(fn.runtime).toBe('nodejs22.x');
      expect(fn.arn).toBe(`arn:aws:lambda:us-east-1:000000000000:function:${fn.name}`);
    }
    expect(byId('Sleepy')?.timeoutSeconds).toBe(2);
    expect(byId('Writer')?.memoryMb).toBe(256);
    expect(byId('EnvDump')?.environment).toMatchObject({
      DECLARED: 'yes',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('resolves the cross-stack imports of the Writer to the local table and bucket names', () => {
    const writer = assembly.functions.find((f) => f.logicalId.startsWith('Writer'));
    const [table] = assembly.tables;
    const [bucket] = assembly.buckets;
    expect(table).toBeDefined();
    expect(writer?.environment.TABLE_NAME).toBe(table?.name);
    expect(writer?.environment.BUCKET_NAME).toBe(bucket?.name);
  });

  it('reads the global table with its keys, index, TTL and a local ARN', () => {
    expect(assembly.tables).toHaveLength(1);
    const [table] = assembly.tables;
    expect(table).toMatchObject({
      stack: 'Fixture-Data',
      partitionKey: { name: 'pk', type: 'S' },
      ttlAttribute: 'expiresAt',
      indexes: [
        { name: 'byValue', partitionKey: { name: 'value', type: 'S' }, sortKey: { name: 'pk', type: 'S' } },
      ],
    });
    expect(table?.sortKey).toBeUndefined();
    expect(table?.arn).toBe(`arn:aws:dynamodb:us-east-1:000000000000:table/${table?.name}`);
  });

  it('names the bucket with a valid S3 bucket name', () => {
    expect(assembly.buckets).toHaveLength(1);
    const name = assembly.buckets[0]?.name ?? '';
    expect(name).toMatch(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/);
    expect(assembly.buckets[0]?.arn).toBe(`arn:aws:s3:::${name}`);
  });

  it('resolves the state machine definition to JSON whose tasks target functions of the assembly', () => {
    expect(assembly.stateMachines).toHaveLength(1);
    const machine = assembly.stateMachines[0];
    const definition = machine?.definition ?? '';
    expect(definition).not.toMatch(/Fn::|"Ref"|\$\{AWS::/);
    expect(machine?.arn).toBe(`arn:aws:states:us-east-1:000000000000:stateMachine:${machine?.name}`);
    const lambdaArns = [...definition.matchAll(/arn:aws:lambda:[^"]+/g)].map((m) => m[0]);
    expect(lambdaArns.length).toBeGreaterThanOrEqual(4);
    const known = new Set(assembly.functions.map((f) => f.arn));
    for (const arn of lambdaArns) expect(known.has(arn)).toBe(true);
    const parsed = JSON.parse(definition) as { StartAt: string; States: Record<string, unknown> };
    expect(parsed.StartAt).toBe('Prepare');
    expect(definition).toContain(`/${assembly.buckets[0]?.name}/train/`);
  });

  it('serves POST /items with IAM auth and GET /items/{id} without, on stage v1', () => {
    const writer = assembly.functions.find((f) => f.logicalId.startsWith('Writer'));
    const routes = assembly.routes.map((r) => ({
      method: r.method,
      path: r.path,
      authorization: r.authorization,
      stageName: r.stageName,
      functionArn: r.functionArn,
    }));
    expect(routes).toHaveLength(2);
    expect(routes).toEqual(
      expect.arrayContaining([
        {
          method: 'POST',
          path: '/items',
          authorization: 'AWS_IAM',
          stageName: 'v1',
          functionArn: writer?.arn,
        },
        {
          method: 'GET',
          path: '/items/{id}',
          authorization: 'NONE',
          stageName: 'v1',
          functionArn: writer?.arn,
        },
      ]),
    );
  });

  it('reads the schedule with its target and constant input', () => {
    const steps = assembly.functions.find((f) => f.logicalId.startsWith('Steps'));
    expect(assembly.schedules).toHaveLength(1);
    expect(assembly.schedules[0]).toMatchObject({
      expression: 'rate(5 minutes)',
      enabled: true,
      targets: [{ arn: steps?.arn, input: '{"action":"tick"}' }],
    });
  });

  it('places everything in the account 000000000000 and the stacks region', () => {
    expect(assembly.placement).toEqual({ region: 'us-east-1', account: '000000000000' });
    expect(assembly.warnings).toEqual([]);
  });
});

describe('loadAssembly intrinsics', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'assembly-intrinsics-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('resolves Sub (both forms), Select, Split, Join, If, FindInMap and pseudo parameters', () => {
    // Prepare
    const dir = writeAssembly(join(work, 'intrinsics'), {
      Shop: {
        Conditions: { IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] } },
        Parameters: { Stage: { Type: 'String', Default: 'dev' } },
        Mappings: { Sizes: { dev: { Memory: 512 } } },
        Resources: {
          Orders: {
            Type: 'AWS::SNS::Topic',
            Properties: { TopicName: { 'Fn::Sub': '${AWS::StackName}-orders-${Stage}' } },
          },
          Queue: { Type: 'AWS::SQS::Queue' },
          Fn: {
            Type: 'AWS::Lambda::Function',
            Properties: {
              Code: { ZipFile: 'exports.handler = async () => 1;' },
              Handler: 'index.handler',
              Runtime: 'nodejs22.x',
              MemorySize: { 'Fn::FindInMap': ['Sizes', { Ref: 'Stage' }, 'Memory'] },
              Environment: {
                Variables: {
                  TOPIC: { Ref: 'Orders' },
                  QUEUE_URL: { Ref: 'Queue' },
                  QUEUE_ARN: { 'Fn::GetAtt': 'Queue.Arn' },
                  SUB_LIST: {
                    'Fn::Sub': ['${Name}:${AWS::Region}:${AWS::AccountId}:${!Literal}', { Name: 'x' }],
                  },
                  SECOND: { 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] },
                  JOINED: { 'Fn::Join': ['-', ['a', { Ref: 'AWS::Partition' }, { Ref: 'AWS::URLSuffix' }]] },
                  CHOSEN: { 'Fn::If': ['IsProd', 'big', 'small'] },
                  GONE: { 'Fn::If': ['IsProd', 'x', { Ref: 'AWS::NoValue' }] },
                },
              },
            },
          },
          ProdOnly: { Type: 'AWS::S3::Bucket', Condition: 'IsProd' },
        },
      },
    });
    // Act
    const assembly = loadAssembly(dir);
    // Assess
    const [fn] = assembly.functions;
    expect(assembly.placement.region).toBe('eu-west-1');
    expect(fn?.name).toBe('Shop-Fn');
    expect(fn?.timeoutSeconds).toBe(3);
    expect(fn?.memoryMb).toBe(512);
    expect(existsSync(join(fn?.codeDir ?? '', 'index.js'))).toBe(true);
    expect(fn?.environment).toEqual({
      TOPIC: 'arn:aws:sns:eu-west-1:000000000000:Shop-orders-dev',
      QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/000000000000/Shop-Queue',
      QUEUE_ARN: 'arn:aws:sqs:eu-west-1:000000000000:Shop-Queue',
      SUB_LIST: 'x:eu-west-1:000000000000:${Literal}',
      SECOND: 'b',
      JOINED: 'a-aws-amazonaws.com',
      CHOSEN: 'small',
    });
    expect(assembly.topics.map((t) => t.name)).toEqual(['Shop-orders-dev']);
    expect(assembly.buckets).toEqual([]);
  });

  it('resolves ImportValue from another stack and derives valid bucket names from long IDs', () => {
    const dir = writeAssembly(join(work, 'imports'), {
      Data_Stack: {
        Resources: {
          'A-Very_Long_Logical_Id_For_A_Bucket_That_Exceeds_Limits_Easily_1234567890': {
            Type: 'AWS::S3::Bucket',
          },
        },
        Outputs: {
          Out: {
            Value: { Ref: 'A-Very_Long_Logical_Id_For_A_Bucket_That_Exceeds_Limits_Easily_1234567890' },
            Export: { Name: { 'Fn::Sub': '${AWS::StackName}:bucket' } },
          },
        },
      },
      App: {
        Resources: {
          Rule: {
            Type: 'AWS::Events::Rule',
            Properties: {
              ScheduleExpression: 'cron(0 12 * * ? *)',
              State: 'DISABLED',
              Targets: [{ Id: 't', Arn: { 'Fn::Sub': 'arn:aws:s3:::${Bucket}' }, Input: '{}' }],
            },
          },
          Bucket: {
            Type: 'AWS::SSM::Parameter',
            Properties: { Name: { 'Fn::ImportValue': 'Data_Stack:bucket' } },
          },
        },
      },
    });
    const assembly = loadAssembly(dir, { region: 'us-west-2' });
    const name = assembly.buckets[0]?.name ?? '';
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/);
    expect(name).not.toContain('_');
    expect(assembly.schedules[0]).toMatchObject({
      enabled: false,
      targets: [{ arn: `arn:aws:s3:::${name}` }],
    });
    expect(assembly.placement.region).toBe('us-west-2');
  });

  it('reads stacks of nested assemblies (CDK stages)', () => {
    const dir = join(work, 'staged');
    writeAssembly(join(dir, 'assembly-Prod'), {
      'Prod-Api': { Resources: { T: { Type: 'AWS::SNS::Topic' } } },
    });
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({
        version: '55.0.0',
        artifacts: {
          'assembly-Prod': { type: 'cdk:cloud-assembly', properties: { directoryName: 'assembly-Prod' } },
        },
      }),
    );
    expect(loadAssembly(dir).topics.map((t) => t.arn)).toEqual([
      'arn:aws:sns:eu-west-1:000000000000:Prod-Api-T',
    ]);
  });

  it('names stack, resource and intrinsic when a reference cannot be resolved', () => {
    const dir = writeAssembly(join(work, 'broken'), {
      Broken: {
        Resources: {
          Fn: {
            Type: 'AWS::Lambda::Function',
            Properties: {
              Code: { ZipFile: 'exports.handler = 1' },
              Environment: { Variables: { X: { 'Fn::ImportValue': 'Nobody:exports-this' } } },
            },
          },
        },
      },
    });
    expect(() => loadAssembly(dir)).toThrow(TemplateResolutionError);
    expect(() => loadAssembly(dir)).toThrow(
      /Cannot resolve \{"Fn::ImportValue":"Nobody:exports-this"\} in stack Broken, resource Fn: no stack of the assembly exports/,
    );
  });

  it('rejects a Ref to a resource the template does not declare', () => {
    const dir = writeAssembly(join(work, 'dangling'), {
      Dangling: {
        Resources: { Topic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { Ref: 'Missing' } } } },
      },
    });
    expect(() => loadAssembly(dir)).toThrow(
      /\{"Ref":"Missing"\} in stack Dangling, resource Topic: no resource/,
    );
  });
});

describe('loadAssembly alarms', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'assembly-alarms-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** An assembly with one stack, Watch, holding a topic and the given alarms. */
  const watching = (name: string, alarms: Record<string, unknown>) =>
    writeAssembly(join(work, name), {
      Watch: {
        Resources: { Pager: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'pager' } }, ...alarms },
      },
    });
  const alarm = (properties: Record<string, unknown>) => ({
    Type: 'AWS::CloudWatch::Alarm',
    Properties: properties,
  });
  const latency = {
    Namespace: 'AWS/SageMaker',
    MetricName: 'ModelLatency',
    Dimensions: [{ Name: 'EndpointName', Value: { 'Fn::Sub': '${AWS::StackName}-endpoint' } }],
    Period: 60,
    EvaluationPeriods: 3,
    ComparisonOperator: 'GreaterThanThreshold',
  };

  it('reads a single-metric alarm with its fields resolved', () => {
    // Prepare
    const dir = watching('single', {
      Latency: alarm({
        ...latency,
        AlarmName: { 'Fn::Sub': '${AWS::StackName}-latency' },
        AlarmDescription: 'p99 latency of the endpoint',
        ExtendedStatistic: 'p99',
        Unit: 'Microseconds',
        DatapointsToAlarm: 2,
        // CloudFormation takes numbers as strings, as a Parameter gives them.
        Threshold: '250000.5',
        TreatMissingData: 'breaching',
        ActionsEnabled: false,
        AlarmActions: [{ Ref: 'Pager' }],
      }),
      Errors: alarm({ ...latency, MetricName: 'Invocation5XXErrors', Statistic: 'Sum', Threshold: 0 }),
    });

    // Act
    const { alarms, warnings } = loadAssembly(dir);

    // Assess
    expect(warnings).toEqual([]);
    expect(alarms).toEqual([
      {
        stack: 'Watch',
        logicalId: 'Latency',
        name: 'Watch-latency',
        arn: 'arn:aws:cloudwatch:eu-west-1:000000000000:alarm:Watch-latency',
        description: 'p99 latency of the endpoint',
        namespace: 'AWS/SageMaker',
        metricName: 'ModelLatency',
        dimensions: [{ name: 'EndpointName', value: 'Watch-endpoint' }],
        extendedStatistic: 'p99',
        unit: 'Microseconds',
        periodSeconds: 60,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        threshold: 250000.5,
        comparisonOperator: 'GreaterThanThreshold',
        treatMissingData: 'breaching',
        actionsEnabled: false,
        alarmActions: ['arn:aws:sns:eu-west-1:000000000000:pager'],
        okActions: [],
        insufficientDataActions: [],
      },
      expect.objectContaining({
        name: 'Watch-Errors',
        statistic: 'Sum',
        threshold: 0,
        actionsEnabled: true,
      }),
    ]);
    expect(alarms[1]).not.toHaveProperty('datapointsToAlarm');
    expect(alarms[1]).not.toHaveProperty('treatMissingData');
  });

  it('refuses a metric-math alarm, naming it', () => {
    // Prepare
    const dir = watching('math', {
      ErrorRate: alarm({
        AlarmName: 'error-rate',
        EvaluationPeriods: 1,
        Threshold: 0.05,
        ComparisonOperator: 'GreaterThanThreshold',
        Metrics: [
          { Id: 'rate', Expression: 'errors / invocations', ReturnData: true },
          {
            Id: 'errors',
            ReturnData: false,
            MetricStat: {
              Metric: { Namespace: 'AWS/SageMaker', MetricName: 'Invocation5XXErrors' },
              Period: 60,
              Stat: 'Sum',
            },
          },
        ],
      }),
    });

    // Act / Assess
    expect(() => loadAssembly(dir)).toThrow(AssemblyReadError);
    expect(() => loadAssembly(dir)).toThrow(/^Watch\/ErrorRate \(alarm error-rate\): metric-math/);
  });

  it('refuses a comparison operator it does not evaluate, naming the alarm and the operator', () => {
    // Prepare
    const dir = watching('band', {
      Band: alarm({
        ...latency,
        Statistic: 'Average',
        Threshold: 1,
        ComparisonOperator: 'LessThanLowerOrGreaterThanUpperThreshold',
      }),
    });

    // Act / Assess
    expect(() => loadAssembly(dir)).toThrow(AssemblyReadError);
    expect(() => loadAssembly(dir)).toThrow(
      /Watch\/Band \(alarm Watch-Band\): ComparisonOperator LessThanLowerOrGreaterThanUpperThreshold is not evaluated locally/,
    );
  });

  it('refuses more DatapointsToAlarm than EvaluationPeriods', () => {
    // Prepare
    const dir = watching('m-of-n', {
      Greedy: alarm({ ...latency, Statistic: 'Maximum', Threshold: 1, DatapointsToAlarm: 4 }),
    });

    // Act / Assess
    expect(() => loadAssembly(dir)).toThrow(
      /Watch\/Greedy \(alarm Watch-Greedy\): DatapointsToAlarm must be an integer from 1 to EvaluationPeriods \(3\), got 4/,
    );
  });

  it('skips a composite alarm with a warning', () => {
    // Prepare
    const dir = watching('composite', {
      Both: { Type: 'AWS::CloudWatch::CompositeAlarm', Properties: { AlarmRule: 'ALARM(a) AND ALARM(b)' } },
    });

    // Act
    const { alarms, warnings } = loadAssembly(dir);

    // Assess
    expect(alarms).toEqual([]);
    expect(warnings).toEqual(['Watch/Both: composite alarms are not evaluated locally; skipped']);
  });
});

describe('loadAssembly Firehose streams', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'assembly-firehose-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** An assembly with one stack, Serving, holding a bucket, a key and the given streams. */
  const serving = (name: string, streams: Record<string, unknown>) =>
    writeAssembly(join(work, name), {
      Serving: {
        Resources: {
          Predictions: { Type: 'AWS::S3::Bucket' },
          StreamKey: { Type: 'AWS::KMS::Key', Properties: {} },
          ...streams,
        },
      },
    });
  const stream = (properties: Record<string, unknown>) => ({
    Type: 'AWS::KinesisFirehose::DeliveryStream',
    Properties: properties,
  });

  it('reads a direct PUT stream with its bucket, prefixes, buffering and key resolved', () => {
    // Prepare
    const dir = serving('explicit', {
      FlightDelay: stream({
        DeliveryStreamName: { 'Fn::Sub': 'mlops-dev-flight-delay-predictions' },
        DeliveryStreamType: 'DirectPut',
        DeliveryStreamEncryptionConfigurationInput: {
          KeyType: 'CUSTOMER_MANAGED_CMK',
          KeyARN: { 'Fn::GetAtt': ['StreamKey', 'Arn'] },
        },
        ExtendedS3DestinationConfiguration: {
          BucketARN: { 'Fn::GetAtt': ['Predictions', 'Arn'] },
          Prefix: 'predictions/flight-delay/date=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/',
          ErrorOutputPrefix:
            'prediction-errors/flight-delay/!{firehose:error-output-type}/date=!{timestamp:yyyy-MM-dd}/',
          BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 5 },
          CompressionFormat: 'UNCOMPRESSED',
          RoleARN: 'arn:aws:iam::000000000000:role/firehose',
        },
      }),
    });

    // Act
    const assembly = loadAssembly(dir);

    // Assess
    const [bucket] = assembly.buckets;
    const [key] = assembly.keys;
    expect(assembly.warnings).toEqual([]);
    expect(assembly.deliveryStreams).toEqual([
      {
        stack: 'Serving',
        logicalId: 'FlightDelay',
        name: 'mlops-dev-flight-delay-predictions',
        arn: 'arn:aws:firehose:eu-west-1:000000000000:deliverystream/mlops-dev-flight-delay-predictions',
        bucket: bucket?.name,
        prefix: 'predictions/flight-delay/date=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/',
        errorOutputPrefix:
          'prediction-errors/flight-delay/!{firehose:error-output-type}/date=!{timestamp:yyyy-MM-dd}/',
        bufferIntervalSeconds: 60,
        bufferSizeMb: 5,
        encryption: { keyType: 'CUSTOMER_MANAGED_CMK', keyArn: key?.arn },
        roleArn: 'arn:aws:iam::000000000000:role/firehose',
      },
    ]);
  });

  it("names an unnamed stream and applies AWS's buffering defaults to an S3DestinationConfiguration", () => {
    // Prepare
    const dir = serving('defaults', {
      Unnamed: stream({
        S3DestinationConfiguration: { BucketARN: { 'Fn::GetAtt': ['Predictions', 'Arn'] } },
      }),
    });

    // Act
    const [found] = loadAssembly(dir).deliveryStreams;

    // Assess
    expect(found).toMatchObject({
      name: 'Serving-Unnamed',
      arn: 'arn:aws:firehose:eu-west-1:000000000000:deliverystream/Serving-Unnamed',
      prefix: '',
      bufferIntervalSeconds: 300,
      bufferSizeMb: 5,
    });
    expect(found).not.toHaveProperty('errorOutputPrefix');
    expect(found).not.toHaveProperty('encryption');
  });

  it('skips a Kinesis-source stream and warns of the destination features it does not emulate', () => {
    // Prepare
    const dir = serving('skipped', {
      FromKinesis: stream({
        DeliveryStreamType: 'KinesisStreamAsSource',
        ExtendedS3DestinationConfiguration: { BucketARN: { 'Fn::GetAtt': ['Predictions', 'Arn'] } },
      }),
      Gzipped: stream({
        DeliveryStreamName: 'gzipped',
        ExtendedS3DestinationConfiguration: {
          BucketARN: { 'Fn::GetAtt': ['Predictions', 'Arn'] },
          CompressionFormat: 'GZIP',
        },
      }),
    });

    // Act
    const { deliveryStreams, warnings } = loadAssembly(dir);

    // Assess
    expect(deliveryStreams.map((s) => s.name)).toEqual(['gzipped']);
    expect(warnings).toEqual([
      'Serving/FromKinesis (Firehose stream Serving-FromKinesis): only direct PUT streams to S3 are emulated (got KinesisStreamAsSource); skipped',
      'Serving/Gzipped (Firehose stream gzipped): CompressionFormat GZIP is not emulated; objects are written uncompressed',
    ]);
  });

  it('refuses a BucketARN that is not a bucket ARN, naming the stream', () => {
    // Prepare
    const dir = serving('bad-bucket', {
      Broken: stream({ ExtendedS3DestinationConfiguration: { BucketARN: 'predictions' } }),
    });

    // Act / Assess
    expect(() => loadAssembly(dir)).toThrow(
      /^Serving\/Broken \(Firehose stream Serving-Broken\): BucketARN must be an S3 bucket ARN, got "predictions"/,
    );
  });
});
