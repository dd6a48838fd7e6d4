import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildStage } from './helpers.ts';

type Resources = Record<
  string,
  { Properties?: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string }
>;

const templates: Record<'dev' | 'prod', Template> = {} as Record<'dev' | 'prod', Template>;

beforeAll(async () => {
  for (const stage of ['dev', 'prod'] as const) {
    const { stacks } = await buildStage(stage);
    templates[stage] = Template.fromStack(stacks.data);
  }
});

/** Buckets that hold product data (every bucket but the access-log target). */
function dataBuckets(t: Template): Resources {
  return Object.fromEntries(
    Object.entries(t.findResources('AWS::S3::Bucket') as Resources).filter(
      ([, r]) => (r.Properties?.LoggingConfiguration as unknown) !== undefined,
    ),
  );
}

describe.each(['dev', 'prod'] as const)('data stack (%s)', (stage) => {
  it('encrypts every data bucket with the customer-managed KMS key and a bucket key', () => {
    const t = templates[stage];
    const buckets = dataBuckets(t);
    expect(Object.keys(buckets)).toHaveLength(5);
    const keyId = Object.keys(t.findResources('AWS::KMS::Key'))[0];
    for (const b of Object.values(buckets)) {
      expect(b.Properties?.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] },
            },
          },
        ],
      });
    }
  });

  it('rotates the KMS key', () => {
    templates[stage].hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('blocks public access and versions every bucket', () => {
    const buckets = templates[stage].findResources('AWS::S3::Bucket') as Resources;
    expect(Object.keys(buckets)).toHaveLength(6);
    for (const b of Object.values(buckets)) {
      expect(b.Properties?.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(b.Properties?.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    }
  });

  it('denies every non-TLS request and TLS below 1.2 on every bucket', () => {
    const t = templates[stage];
    const policies = t.findResources('AWS::S3::BucketPolicy') as Resources;
    expect(Object.keys(policies)).toHaveLength(6);
    for (const p of Object.values(policies)) {
      const statements = (
        p.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] } | undefined
      )?.Statement;
      expect(statements).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
          }),
        ]),
      );
    }
  });

  it('turns on Object Lock only on the audit archive, always retained', () => {
    const locked = templates[stage].findResources('AWS::S3::Bucket', {
      Properties: { ObjectLockEnabled: true },
    }) as Resources;
    expect(Object.keys(locked)).toHaveLength(1);
    const archive = Object.values(locked)[0];
    expect(archive?.DeletionPolicy).toBe('Retain');
    expect(archive?.Properties?.ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: {
        DefaultRetention:
          stage === 'prod' ? { Mode: 'COMPLIANCE', Days: 2555 } : { Mode: 'GOVERNANCE', Days: 30 },
      },
    });
  });

  it('gives every table PITR and KMS encryption', () => {
    const tables = templates[stage].findResources('AWS::DynamoDB::GlobalTable') as Resources;
    expect(Object.keys(tables)).toHaveLength(4);
    for (const t of Object.values(tables)) {
      expect(t.Properties?.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
      const replicas = t.Properties?.Replicas as Record<string, unknown>[];
      for (const r of replicas) {
        expect(r).toMatchObject({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { KMSMasterKeyId: expect.anything() },
        });
      }
    }
  });

  it('retains and deletion-protects the ledger whatever the stage', () => {
    const ledgers = templates[stage].findResources('AWS::DynamoDB::GlobalTable', {
      Properties: { StreamSpecification: { StreamViewType: 'NEW_IMAGE' } },
    }) as Resources;
    expect(Object.keys(ledgers)).toHaveLength(1);
    const ledger = Object.values(ledgers)[0];
    expect(ledger?.DeletionPolicy).toBe('Retain');
    expect(ledger?.UpdateReplacePolicy).toBe('Retain');
    expect(ledger?.Properties?.Replicas).toEqual([
      expect.objectContaining({ DeletionProtectionEnabled: true }),
    ]);
  });

  it('indexes the ledger for each audit query', () => {
    templates[stage].hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      GlobalSecondaryIndexes: Match.arrayWith(
        ['byModel', 'byDataset', 'byEndpoint', 'byRun', 'byDay'].map((name) =>
          Match.objectLike({
            IndexName: name,
            KeySchema: Match.arrayWith([{ AttributeName: 'at', KeyType: 'RANGE' }]),
          }),
        ),
      ),
    });
  });

  it('sends S3 events of exactly one bucket (datasets) to EventBridge, natively, without a custom resource', () => {
    const t = templates[stage];
    const notified = t.findResources('AWS::S3::Bucket', {
      Properties: { NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } } },
    });
    expect(Object.keys(notified)).toHaveLength(1);
    expect(Object.keys(t.findResources('Custom::S3BucketNotifications'))).toHaveLength(0);
  });

  it('enables DynamoDB TTL on the online feature store', () => {
    templates[stage].hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('keeps transient run state keyed by runId, expired by TTL', () => {
    templates[stage].hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: 'runId', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });
});

describe('stage-dependent removal policies', () => {
  function policiesOf(stage: 'dev' | 'prod', type: string): string[] {
    const resources = templates[stage].findResources(type, {
      Properties: { ObjectLockEnabled: Match.absent(), StreamSpecification: Match.absent() },
    }) as Resources;
    return Object.values(resources).map((r) => r.DeletionPolicy ?? 'Delete');
  }

  it('deletes dev buckets and feature tables with the stack', () => {
    expect(new Set(policiesOf('dev', 'AWS::S3::Bucket'))).toEqual(new Set(['Delete']));
    expect(new Set(policiesOf('dev', 'AWS::DynamoDB::GlobalTable'))).toEqual(new Set(['Delete']));
  });

  it('retains prod buckets and tables, with deletion protection', () => {
    expect(new Set(policiesOf('prod', 'AWS::S3::Bucket'))).toEqual(new Set(['Retain']));
    expect(new Set(policiesOf('prod', 'AWS::DynamoDB::GlobalTable'))).toEqual(new Set(['Retain']));
    const tables = templates.prod.findResources('AWS::DynamoDB::GlobalTable') as Resources;
    for (const t of Object.values(tables)) {
      expect(t.Properties?.Replicas).toEqual([expect.objectContaining({ DeletionProtectionEnabled: true })]);
    }
  });
});
