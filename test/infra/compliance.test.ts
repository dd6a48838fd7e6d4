import { join } from 'node:path';
import { CfnResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { applyComplianceChecks } from '../../infra/build-app.ts';
import { MlopsFunction } from '../../infra/constructs/mlops-function.ts';
import { buildStage, reportingApp, synthFindings } from './helpers.ts';

describe('compliance of the real stacks', () => {
  it.each(['dev', 'prod'] as const)(
    'has zero unacknowledged nag findings and zero template-validation findings (%s)',
    async (stage) => {
      const { app } = await buildStage(stage);
      expect(synthFindings(app)).toEqual([]);
    },
  );
});

describe('the checks can fail', () => {
  it('reports a bucket without encryption, TLS-only policy, versioning or logging', async () => {
    const { app, stacks } = await buildStage('dev');
    new s3.Bucket(stacks.data, 'Careless', {});
    const findings = synthFindings(app);
    const rules = findings.filter((f) => f.paths.some((p) => p.includes('/Careless/'))).map((f) => f.rule);
    expect(rules).toEqual(
      expect.arrayContaining([
        'AwsSolutions-S1',
        'AwsSolutions-S10',
        'NIST.800.53.R5-S3DefaultEncryptionKMS',
        'NIST.800.53.R5-S3BucketVersioningEnabled',
      ]),
    );
  });

  it('reports a template error through the built-in CloudFormation validation', async () => {
    const { app, stacks } = await buildStage('dev');
    new CfnResource(stacks.data, 'Malformed', {
      type: 'AWS::SQS::Queue',
      properties: { MessageRetentionPeriod: 'two weeks', NotAProperty: true },
    });
    const findings = synthFindings(app).filter((f) => f.plugin === 'CloudFormation Validate');
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.every((f) => f.severity === 'error')).toBe(true);
  });
});

describe('MlopsFunction', () => {
  function functionStack(invocation: 'sync' | 'async') {
    const app = reportingApp();
    const stack = new Stack(app, 'Fn', { env: { region: 'us-east-1' } });
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const fn = new MlopsFunction(stack, 'Echo', {
      entry: join(import.meta.dirname, '..', 'fixtures', 'functions', 'echo.ts'),
      description: 'echo',
      encryptionKey: key,
      timeout: Duration.seconds(10),
      logRetention: logs.RetentionDays.ONE_MONTH,
      logRemovalPolicy: RemovalPolicy.DESTROY,
      invocation,
    });
    applyComplianceChecks(app);
    return { app, stack, fn };
  }

  it.each(['sync', 'async'] as const)('passes every nag pack and template validation (%s)', (invocation) => {
    const { app } = functionStack(invocation);
    expect(synthFindings(app)).toEqual([]);
  });

  it('runs nodejs22.x on arm64 with active tracing and source maps', () => {
    const { stack } = functionStack('sync');
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps' } },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('gives an asynchronously invoked function an encrypted dead-letter queue', () => {
    const { fn } = functionStack('async');
    expect(fn.deadLetterQueue).toBeDefined();
    expect(fn.fn.deadLetterQueue).toBe(fn.deadLetterQueue);
  });

  it('refuses a timeout above the Lambda maximum at synth', () => {
    const app = reportingApp();
    const stack = new Stack(app, 'Fn');
    const key = new kms.Key(stack, 'Key');
    expect(
      () =>
        new MlopsFunction(stack, 'TooLong', {
          entry: join(import.meta.dirname, '..', 'fixtures', 'functions', 'echo.ts'),
          description: 'x',
          encryptionKey: key,
          timeout: Duration.minutes(20),
          logRetention: logs.RetentionDays.ONE_MONTH,
          logRemovalPolicy: RemovalPolicy.DESTROY,
        }),
    ).toThrow('timeout must be at most 900 seconds, got 1200');
  });
});
