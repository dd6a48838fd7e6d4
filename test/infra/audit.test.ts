import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MlopsStacks } from '../../infra/build-app.ts';
import { LEDGER_READ_ACTIONS, LedgerTable } from '../../infra/constructs/mlops-table.ts';
import { AUDIT_ROUTES } from '../../shared/ledger/audit-api.ts';
import { buildStage, reportingApp, synthFindings } from './helpers.ts';

interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
}
type Resources = Record<string, { Properties: Record<string, unknown> }>;

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

/** Every statement of every identity policy in a template, with the logical ID of its policy. */
function statements(t: Template): { policy: string; statement: Statement; roles: unknown }[] {
  const out: { policy: string; statement: Statement; roles: unknown }[] = [];
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const [id, r] of Object.entries(t.findResources(type) as Resources)) {
      const doc = r.Properties.PolicyDocument as { Statement: Statement[] };
      for (const statement of doc.Statement) out.push({ policy: id, statement, roles: r.Properties.Roles });
    }
  }
  return out;
}

/** Whether an action pattern (with IAM wildcards) covers `action`. */
function covers(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
  return re.test(action);
}

let stacks: MlopsStacks;
let service: Template;
let ledgerId: string;

beforeAll(async () => {
  ({ stacks } = await buildStage('dev'));
  service = Template.fromStack(stacks.service);
  ledgerId = stacks.data.getLogicalId(stacks.data.ledger.table.node.defaultChild as CfnElement);
});

const onLedger = (resource: unknown) => JSON.stringify(resource).includes(ledgerId);

describe('ledger signing key', () => {
  const data = () => Template.fromStack(stacks.data);
  const keyId = () => stacks.data.getLogicalId(stacks.data.ledger.signingKey.node.defaultChild as CfnElement);

  it('is an asymmetric P-256 signing key, retained, whose policy refuses kms:Sign to untagged principals', () => {
    const key = (data().findResources('AWS::KMS::Key') as Resources)[keyId()];
    expect(key?.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    data().hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ KeySpec: 'ECC_NIST_P256' }),
    });
    const policy = key?.Properties.KeyPolicy as {
      Statement: (Statement & { Condition?: unknown; Principal?: unknown })[];
    };
    expect(policy.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Deny',
          Action: 'kms:Sign',
          Principal: { AWS: '*' },
          Condition: { StringNotEquals: { 'aws:PrincipalTag/mlops:ledger-writer': 'true' } },
        }),
      ]),
    );
  });

  it('is granted kms:Sign only to roles tagged as ledger writers, and every ledger writer can sign', () => {
    const roles = service.findResources('AWS::IAM::Role') as Resources;
    const tagged = new Set(
      Object.entries(roles)
        .filter(([, r]) =>
          ((r.Properties.Tags ?? []) as { Key: string; Value: string }[]).some(
            (t) => t.Key === 'mlops:ledger-writer' && t.Value === 'true',
          ),
        )
        .map(([id]) => id),
    );
    const signers = statements(service).filter(
      (s) => s.statement.Effect === 'Allow' && actionsOf(s.statement).some((a) => covers(a, 'kms:Sign')),
    );
    const signerRoles = signers.flatMap((s) => ((s.roles ?? []) as { Ref: string }[]).map((r) => r.Ref));
    expect(signerRoles.length).toBeGreaterThanOrEqual(4);
    for (const role of signerRoles) expect(tagged.has(role), `${role} signs but is not tagged`).toBe(true);
    for (const { statement } of signers) expect(JSON.stringify(statement.Resource)).toContain(keyId());
    // Every role that may put ledger items may also sign, or its events would fail verification.
    const putters = statements(service).filter(
      (s) =>
        s.statement.Effect === 'Allow' &&
        onLedger(s.statement.Resource) &&
        actionsOf(s.statement).includes('dynamodb:PutItem'),
    );
    for (const p of putters)
      for (const r of (p.roles ?? []) as { Ref: string }[]) expect(signerRoles).toContain(r.Ref);
  });
});

describe('ledger write protection', () => {
  it('lets no principal in the app update or delete ledger items, and denies it explicitly wherever the ledger is granted', () => {
    const all = [...statements(service), ...statements(Template.fromStack(stacks.data))];
    const allows = all.filter((s) => s.statement.Effect === 'Allow' && onLedger(s.statement.Resource));
    expect(allows.length).toBeGreaterThan(0);
    for (const { statement } of allows) {
      for (const forbidden of ['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
        expect(
          actionsOf(statement).some((a) => covers(a, forbidden)),
          `${forbidden} allowed`,
        ).toBe(false);
      }
    }
    const policiesOnLedger = new Set(allows.map((s) => s.policy));
    for (const policy of policiesOnLedger) {
      const deny = all.find(
        (s) => s.policy === policy && s.statement.Effect === 'Deny' && onLedger(s.statement.Resource),
      );
      expect(deny, `${policy} has no explicit deny`).toBeDefined();
      expect(actionsOf(deny?.statement as Statement)).toEqual(
        expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']),
      );
    }
  });

  it('grantAppend allows only the puts of an append and head reads, and denies every mutation', () => {
    const stack = new Stack(reportingApp(), 'Writer', { env: { region: 'us-east-1' } });
    const ledger = new LedgerTable(stack, 'Ledger', { encryptionKey: new kms.Key(stack, 'Key') });
    const writer = new iam.Role(stack, 'Writer', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    ledger.grantAppend(writer);
    const t = Template.fromStack(stack);
    const id = stack.getLogicalId(ledger.table.node.defaultChild as CfnElement);
    const ledgerStatements = statements(t).filter((s) => JSON.stringify(s.statement.Resource).includes(id));
    const allowed = ledgerStatements
      .filter((s) => s.statement.Effect === 'Allow')
      .flatMap((s) => actionsOf(s.statement));
    expect(allowed.sort()).toEqual(
      ['dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'].sort(),
    );
    const denied = ledgerStatements
      .filter((s) => s.statement.Effect === 'Deny')
      .flatMap((s) => actionsOf(s.statement));
    expect(denied).toEqual(
      expect.arrayContaining([
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:PartiQLUpdate',
        'dynamodb:PartiQLDelete',
      ]),
    );
  });
});

describe('auditor role', () => {
  it('is allowed only read actions, through one managed policy and no inline policy', () => {
    const policyId = stacks.service.getLogicalId(
      stacks.service.audit.auditorPolicy.node.defaultChild as CfnElement,
    );
    const roleId = stacks.service.getLogicalId(
      stacks.service.audit.auditorRole.node.defaultChild as CfnElement,
    );
    const policy = statements(service).filter((s) => s.policy === policyId && s.statement.Effect === 'Allow');
    const readOnly = [
      ...LEDGER_READ_ACTIONS,
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:GetPublicKey',
      'kms:Verify',
      's3:GetObject',
      's3:GetObjectVersion',
      's3:GetObjectRetention',
      's3:ListBucket',
      's3:ListBucketVersions',
      'execute-api:Invoke',
    ];
    const actions = policy.flatMap((s) => actionsOf(s.statement));
    expect(
      actions.every((a) => readOnly.includes(a)),
      actions.join(','),
    ).toBe(true);
    expect(actions).toEqual(
      expect.arrayContaining(['dynamodb:Query', 's3:GetObject', 'kms:Decrypt', 'execute-api:Invoke']),
    );
    const role = (service.findResources('AWS::IAM::Role') as Resources)[roleId];
    expect(role?.Properties.ManagedPolicyArns).toEqual([{ Ref: policyId }]);
    const inline = statements(service).filter(
      (s) => JSON.stringify(s.roles ?? []).includes(roleId) && s.policy !== policyId,
    );
    expect(inline).toEqual([]);
  });

  it('may call only the GET /audit routes', () => {
    const policyId = stacks.service.getLogicalId(
      stacks.service.audit.auditorPolicy.node.defaultChild as CfnElement,
    );
    const invoke = statements(service).find(
      (s) => s.policy === policyId && actionsOf(s.statement).includes('execute-api:Invoke'),
    );
    const resources = JSON.stringify(invoke?.statement.Resource);
    for (const route of Object.values(AUDIT_ROUTES)) expect(resources).toContain(`/GET${route.path}`);
    expect(resources).not.toMatch(/\/(PUT|POST|DELETE|\*)\//);
  });
});

describe('audit routes and archiver', () => {
  it.each(Object.entries(AUDIT_ROUTES))(
    'serves GET %s with IAM auth and validated parameters',
    (_, route) => {
      const required = Object.fromEntries(
        (route.query as readonly string[]).map((q) => [
          `method.request.querystring.${q.replace('?', '')}`,
          !q.endsWith('?'),
        ]),
      );
      service.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: 'GET',
        AuthorizationType: 'AWS_IAM',
        RequestValidatorId: Match.anyValue(),
        ...(Object.keys(required).length > 0 ? { RequestParameters: required } : {}),
      });
    },
  );

  it('creates one REST API with JSON access logs in a KMS-encrypted log group and tracing', () => {
    service.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    service.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"requestId"') },
      // The dev stage's throttling, on every method of the stage.
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
        }),
      ]),
    });
    service.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: Match.anyValue() });
  });

  it('feeds the ledger stream to the archiver with bisect-on-error and an on-failure queue', () => {
    service.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BisectBatchOnFunctionError: true,
      StartingPosition: 'TRIM_HORIZON',
      MaximumRetryAttempts: 10,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    service.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ AUDIT_ARCHIVE_BUCKET: Match.anyValue() }) },
      DeadLetterConfig: Match.anyValue(),
    });
  });

  it('lets the archiver write only under ledger/ in the archive', () => {
    // Statements that reach the audit archive (its ARN crosses stacks by its named export).
    const puts = statements(service).filter(
      (s) =>
        actionsOf(s.statement).some((a) => a.startsWith('s3:Put')) &&
        JSON.stringify(s.statement.Resource).includes('AuditArchiveArn'),
    );
    expect(puts).toHaveLength(1);
    expect(actionsOf(puts[0]?.statement as Statement)).toEqual(['s3:PutObject']);
    expect(JSON.stringify(puts[0]?.statement.Resource)).toContain('/ledger/*');
  });

  it.each(['dev', 'prod'] as const)(
    'adds no unacknowledged finding to the service stack (%s)',
    async (stage) => {
      const { app } = await buildStage(stage);
      const mine = synthFindings(app).filter((f) =>
        f.paths.some((p) => p.startsWith(`Mlops-${stage}-Service/`)),
      );
      expect(mine).toEqual([]);
    },
  );
});
