/**
 * Resolves the intrinsics of the stack templates of one cloud assembly against local names and
 * ARNs: Ref, Fn::GetAtt, Fn::Sub, conditions, mappings and cross-stack exports, with the physical
 * names CloudFormation would generate.
 *
 * A small resolver is written here rather than using cfn-resolver-lib: that library needs a
 * hand-made map for every Ref/GetAtt, knows nothing of cross-stack exports or of cdk.out assets,
 * and leaves what it cannot resolve in place silently, where this one must fail loudly.
 */
import { createHash } from 'node:crypto';
import type { LocalPlacement } from '../model.ts';

/** A JSON value as found in a CloudFormation template. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object of a template. */
export type JsonObject = { [key: string]: JsonValue };

/** A template value that cannot be resolved locally; the message names stack, resource and intrinsic. */
export class TemplateResolutionError extends Error {
  override readonly name = 'TemplateResolutionError';
}

/** One resource of a template. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: JsonObject;
  readonly Condition?: string;
}

/** The sections of a template that the local cloud reads. */
export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly Parameters?: Record<string, { readonly Default?: JsonValue }>;
  readonly Outputs?: Record<
    string,
    { readonly Value: JsonValue; readonly Export?: { readonly Name: JsonValue } }
  >;
  readonly Conditions?: Record<string, JsonValue>;
  readonly Mappings?: Record<string, Record<string, Record<string, JsonValue>>>;
}

/** One stack of the assembly with its parsed template. */
export interface StackInfo {
  readonly name: string;
  readonly template: CfnTemplate;
  readonly resources: Record<string, CfnResource>;
}

/** Marks AWS::NoValue: the enclosing property or list element disappears. */
const NO_VALUE: unique symbol = Symbol('AWS::NoValue');
type Resolved = JsonValue | typeof NO_VALUE;

/** Explicit-name properties, by resource type. */
const NAME_PROPERTY: Readonly<Record<string, string>> = {
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::DynamoDB::GlobalTable': 'TableName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::User': 'UserName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::IAM::Policy': 'PolicyName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::Events::Rule': 'Name',
  'AWS::Events::EventBus': 'Name',
  'AWS::Scheduler::Schedule': 'Name',
  'AWS::SSM::Parameter': 'Name',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::CloudWatch::Alarm': 'AlarmName',
  'AWS::SageMaker::ModelPackageGroup': 'ModelPackageGroupName',
  'AWS::KinesisFirehose::DeliveryStream': 'DeliveryStreamName',
};

/** Maximum name length per resource type, where AWS has a short one. */
const NAME_LIMIT: Readonly<Record<string, number>> = {
  'AWS::Lambda::Function': 64,
  'AWS::StepFunctions::StateMachine': 80,
  'AWS::SQS::Queue': 80,
  'AWS::IAM::Role': 64,
  'AWS::Events::Rule': 64,
  'AWS::Scheduler::Schedule': 64,
  'AWS::KinesisFirehose::DeliveryStream': 64,
};

/** The hex SHA-256 of `text`, from which local names and IDs are derived. */
export function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Whether a JSON value is an object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Cuts a generated name to `limit`, keeping it unique with a hash suffix as CloudFormation does. */
function fitName(name: string, limit: number): string {
  if (name.length <= limit) return name;
  return `${name.slice(0, limit - 9)}-${hash(name).slice(0, 8)}`;
}

/** A valid S3 bucket name: lowercase, digits, hyphens and dots, 3 to 63 characters. */
function bucketName(stack: string, logicalId: string): string {
  const raw = `${stack}-${logicalId}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  const fitted = fitName(raw.padEnd(3, '0'), 63);
  return fitted.replace(/[^a-z0-9]+$/g, '');
}

/** Resolves intrinsics of every stack of one assembly against local names. */
export class TemplateResolver {
  private readonly names = new Map<string, string>();
  private readonly naming = new Set<string>();
  private exports?: Map<string, { stack: StackInfo; value: JsonValue }>;

  constructor(
    private readonly stacks: readonly StackInfo[],
    private readonly placement: LocalPlacement,
  ) {}

  /** Resolves `value`; `where` names the resource for error messages. */
  resolve(stack: StackInfo, where: string, value: JsonValue): JsonValue | undefined {
    const out = this.walk(stack, where, value);
    return out === NO_VALUE ? undefined : out;
  }

  /** Resolves a value that must be a string (numbers are accepted as CloudFormation does). */
  string(stack: StackInfo, where: string, value: JsonValue): string {
    const out = this.resolve(stack, where, value);
    if (typeof out === 'string') return out;
    if (typeof out === 'number' || typeof out === 'boolean') return String(out);
    throw this.error(stack, where, value, `expected a string, got ${JSON.stringify(out)}`);
  }

  /** Local physical name of a resource: its explicit name property, else derived from stack and logical ID. */
  physicalName(stack: StackInfo, logicalId: string): string {
    const key = `${stack.name}/${logicalId}`;
    const known = this.names.get(key);
    if (known !== undefined) return known;
    if (this.naming.has(key)) {
      throw new TemplateResolutionError(`${stack.name}/${logicalId}: its name depends on itself`);
    }
    this.naming.add(key);
    try {
      const resource = this.resource(stack, logicalId, `{"Ref":"${logicalId}"}`);
      const nameProp = NAME_PROPERTY[resource.Type];
      const explicit = nameProp === undefined ? undefined : resource.Properties?.[nameProp];
      let name: string;
      if (explicit !== undefined) {
        name = this.string(stack, logicalId, explicit);
      } else if (resource.Type === 'AWS::S3::Bucket') {
        name = bucketName(stack.name, logicalId);
      } else {
        const base = fitName(`${stack.name}-${logicalId}`, NAME_LIMIT[resource.Type] ?? 255);
        const fifo = resource.Type === 'AWS::SQS::Queue' && resource.Properties?.FifoQueue === true;
        name = fifo ? `${fitName(base, 75)}.fifo` : base;
      }
      this.names.set(key, name);
      return name;
    } finally {
      this.naming.delete(key);
    }
  }

  /** A short lowercase ID, as API Gateway and KMS generate. */
  localId(stack: StackInfo, logicalId: string, length = 10): string {
    return hash(`${stack.name}/${logicalId}`).slice(0, length);
  }

  arn(service: string, resource: string, region = this.placement.region): string {
    return `arn:aws:${service}:${region}:${this.placement.account}:${resource}`;
  }

  /** What `Ref` returns for a resource. */
  ref(stack: StackInfo, logicalId: string): string {
    const resource = this.resource(stack, logicalId, `{"Ref":"${logicalId}"}`);
    const name = () => this.physicalName(stack, logicalId);
    switch (resource.Type) {
      case 'AWS::StepFunctions::StateMachine':
      case 'AWS::IAM::ManagedPolicy':
        return this.attribute(stack, logicalId, 'Arn');
      case 'AWS::SNS::Topic':
        return this.attribute(stack, logicalId, 'TopicArn');
      case 'AWS::SQS::Queue':
        return `https://sqs.${this.placement.region}.amazonaws.com/${this.placement.account}/${name()}`;
      case 'AWS::KMS::Key':
        return this.keyId(stack, logicalId);
      case 'AWS::ApiGateway::RestApi':
      case 'AWS::ApiGateway::Resource':
      case 'AWS::ApiGateway::Deployment':
      case 'AWS::ApiGatewayV2::Api':
      case 'AWS::ApiGatewayV2::Integration':
      case 'AWS::ApiGatewayV2::Route':
      case 'AWS::ApiGateway::Authorizer':
      case 'AWS::ApiGatewayV2::Authorizer':
        return this.localId(stack, logicalId);
      case 'AWS::ApiGateway::Stage':
      case 'AWS::ApiGatewayV2::Stage': {
        const stageName = resource.Properties?.StageName;
        return stageName === undefined ? name() : this.string(stack, logicalId, stageName);
      }
      case 'AWS::Lambda::Version':
        return `${this.functionArnOf(stack, logicalId, resource)}:1`;
      case 'AWS::Lambda::Alias': {
        const aliasName = resource.Properties?.Name;
        const alias = aliasName === undefined ? name() : this.string(stack, logicalId, aliasName);
        return `${this.functionArnOf(stack, logicalId, resource)}:${alias}`;
      }
      default:
        return name();
    }
  }

  /** What `Fn::GetAtt` returns; unknown attributes of unknown types get a plausible local value. */
  attribute(stack: StackInfo, logicalId: string, attr: string): string {
    const resource = this.resource(stack, logicalId, `{"Fn::GetAtt":["${logicalId}","${attr}"]}`);
    const name = () => this.physicalName(stack, logicalId);
    const region = this.placement.region;
    switch (`${resource.Type}.${attr}`) {
      case 'AWS::DynamoDB::Table.Arn':
      case 'AWS::DynamoDB::GlobalTable.Arn':
        return this.arn('dynamodb', `table/${name()}`);
      case 'AWS::DynamoDB::Table.StreamArn':
      case 'AWS::DynamoDB::GlobalTable.StreamArn':
        return this.arn('dynamodb', `table/${name()}/stream/1970-01-01T00:00:00.000`);
      case 'AWS::DynamoDB::Table.TableId':
      case 'AWS::DynamoDB::GlobalTable.TableId':
        return this.uuid(stack, logicalId);
      case 'AWS::S3::Bucket.Arn':
        return `arn:aws:s3:::${name()}`;
      case 'AWS::S3::Bucket.DomainName':
        return `${name()}.s3.amazonaws.com`;
      case 'AWS::S3::Bucket.RegionalDomainName':
        return `${name()}.s3.${region}.amazonaws.com`;
      case 'AWS::S3::Bucket.DualStackDomainName':
        return `${name()}.s3.dualstack.${region}.amazonaws.com`;
      case 'AWS::S3::Bucket.WebsiteURL':
        return `http://${name()}.s3-website-${region}.amazonaws.com`;
      case 'AWS::Lambda::Function.Arn':
        return this.arn('lambda', `function:${name()}`);
      case 'AWS::StepFunctions::StateMachine.Arn':
        return this.arn('states', `stateMachine:${name()}`);
      case 'AWS::StepFunctions::StateMachine.Name':
      case 'AWS::SNS::Topic.TopicName':
      case 'AWS::SQS::Queue.QueueName':
        return name();
      case 'AWS::SNS::Topic.TopicArn':
        return this.arn('sns', name());
      case 'AWS::SQS::Queue.Arn':
        return this.arn('sqs', name());
      case 'AWS::SQS::Queue.QueueUrl':
        return this.ref(stack, logicalId);
      case 'AWS::KMS::Key.Arn':
        return this.arn('kms', `key/${this.keyId(stack, logicalId)}`);
      case 'AWS::KMS::Key.KeyId':
        return this.keyId(stack, logicalId);
      case 'AWS::IAM::Role.Arn':
        return `arn:aws:iam::${this.placement.account}:role/${name()}`;
      case 'AWS::IAM::User.Arn':
        return `arn:aws:iam::${this.placement.account}:user/${name()}`;
      case 'AWS::IAM::ManagedPolicy.Arn':
      case 'AWS::IAM::ManagedPolicy.PolicyArn':
        return `arn:aws:iam::${this.placement.account}:policy/${name()}`;
      case 'AWS::IAM::Role.RoleId':
      case 'AWS::IAM::User.UserId':
        return `AROA${this.localId(stack, logicalId, 17).toUpperCase()}`;
      case 'AWS::Logs::LogGroup.Arn':
        return this.arn('logs', `log-group:${name()}:*`);
      case 'AWS::Events::Rule.Arn':
        return this.arn('events', `rule/${name()}`);
      case 'AWS::CloudWatch::Alarm.Arn':
        return this.arn('cloudwatch', `alarm:${name()}`);
      case 'AWS::KinesisFirehose::DeliveryStream.Arn':
        return this.arn('firehose', `deliverystream/${name()}`);
      case 'AWS::ApiGateway::RestApi.RootResourceId':
        return this.localId(stack, `${logicalId}/root`);
      case 'AWS::ApiGateway::Resource.ResourceId':
        return this.localId(stack, logicalId);
      case 'AWS::ApiGatewayV2::Api.ApiEndpoint':
        return `https://${this.localId(stack, logicalId)}.execute-api.${region}.amazonaws.com`;
      case 'AWS::ApiGatewayV2::Api.ApiId':
        return this.localId(stack, logicalId);
      default: {
        if (attr === 'Arn' || attr.endsWith('Arn')) {
          const [, service = 'local', type = 'resource'] = resource.Type.split('::');
          return this.arn(service.toLowerCase(), `${type.toLowerCase()}/${name()}`);
        }
        return attr === 'Name' || attr.endsWith('Name') ? name() : `${name()}-${attr}`;
      }
    }
  }

  private keyId(stack: StackInfo, logicalId: string): string {
    return this.uuid(stack, logicalId);
  }

  private uuid(stack: StackInfo, logicalId: string): string {
    const h = this.localId(stack, logicalId, 32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  private functionArnOf(stack: StackInfo, logicalId: string, resource: CfnResource): string {
    const fn = resource.Properties?.FunctionName;
    if (fn === undefined) throw this.error(stack, logicalId, null, 'FunctionName is missing');
    const value = this.string(stack, logicalId, fn);
    return value.startsWith('arn:') ? value : this.arn('lambda', `function:${value}`);
  }

  resource(stack: StackInfo, logicalId: string, intrinsic: string): CfnResource {
    const resource = stack.resources[logicalId];
    if (resource === undefined) {
      throw new TemplateResolutionError(
        `Cannot resolve ${intrinsic} in stack ${stack.name}: no resource ${logicalId} in its template`,
      );
    }
    return resource;
  }

  /** Evaluates a named condition of the stack's Conditions section. */
  condition(stack: StackInfo, where: string, name: string): boolean {
    const definition = stack.template.Conditions?.[name];
    if (definition === undefined) {
      throw this.error(stack, where, { Condition: name }, `no condition named ${name}`);
    }
    const out = this.resolve(stack, where, definition);
    if (typeof out !== 'boolean') throw this.error(stack, where, definition, 'a condition must be a boolean');
    return out;
  }

  private error(stack: StackInfo, where: string, value: JsonValue, why: string): TemplateResolutionError {
    const shown = JSON.stringify(value);
    const intrinsic = shown.length > 200 ? `${shown.slice(0, 200)}...` : shown;
    return new TemplateResolutionError(
      `Cannot resolve ${intrinsic} in stack ${stack.name}, resource ${where}: ${why}`,
    );
  }

  private walk(stack: StackInfo, where: string, value: JsonValue): Resolved {
    if (Array.isArray(value)) {
      const out: JsonValue[] = [];
      for (const item of value) {
        const r = this.walk(stack, where, item);
        if (r !== NO_VALUE) out.push(r);
      }
      return out;
    }
    if (!isObject(value)) return value;
    const keys = Object.keys(value);
    const only = keys.length === 1 ? keys[0] : undefined;
    if (only !== undefined && (only === 'Ref' || only.startsWith('Fn::') || only === 'Condition')) {
      return this.intrinsic(stack, where, only, value[only] ?? null, value);
    }
    const out: JsonObject = {};
    for (const key of keys) {
      const r = this.walk(stack, where, value[key] ?? null);
      if (r !== NO_VALUE) out[key] = r;
    }
    return out;
  }

  private list(stack: StackInfo, where: string, value: JsonValue, whole: JsonValue): JsonValue[] {
    const out = this.walk(stack, where, value);
    if (!Array.isArray(out)) throw this.error(stack, where, whole, 'expected a list');
    return out;
  }

  private intrinsic(stack: StackInfo, where: string, fn: string, arg: JsonValue, whole: JsonValue): Resolved {
    const str = (v: JsonValue): string => {
      const out = this.walk(stack, where, v);
      if (typeof out === 'string') return out;
      if (typeof out === 'number' || typeof out === 'boolean') return String(out);
      throw this.error(stack, where, whole, `expected a string argument, got ${JSON.stringify(out)}`);
    };
    switch (fn) {
      case 'Ref':
        if (typeof arg !== 'string') throw this.error(stack, where, whole, 'Ref takes a name');
        return this.refName(stack, where, arg, whole);
      case 'Fn::GetAtt': {
        const parts =
          typeof arg === 'string'
            ? [arg.slice(0, arg.indexOf('.')), arg.slice(arg.indexOf('.') + 1)]
            : Array.isArray(arg)
              ? arg.map((a) => str(a))
              : [];
        const [logicalId, attr] = parts;
        if (!logicalId || !attr) throw this.error(stack, where, whole, 'expected [logicalId, attribute]');
        return this.attribute(stack, logicalId, attr);
      }
      case 'Fn::Join': {
        if (!Array.isArray(arg) || arg.length !== 2) throw this.error(stack, where, whole, 'expected 2 args');
        const items = this.list(stack, where, arg[1] ?? null, whole);
        return items.map((i) => str(i)).join(str(arg[0] ?? ''));
      }
      case 'Fn::Sub':
        return this.sub(stack, where, arg, whole);
      case 'Fn::Select': {
        if (!Array.isArray(arg) || arg.length !== 2) throw this.error(stack, where, whole, 'expected 2 args');
        const index = Number(str(arg[0] ?? null));
        const items = this.list(stack, where, arg[1] ?? null, whole);
        const item = items[index];
        if (item === undefined) throw this.error(stack, where, whole, `index ${index} is out of range`);
        return item;
      }
      case 'Fn::Split': {
        if (!Array.isArray(arg) || arg.length !== 2) throw this.error(stack, where, whole, 'expected 2 args');
        return str(arg[1] ?? null).split(str(arg[0] ?? null));
      }
      case 'Fn::ImportValue':
        return this.importValue(stack, where, str(arg), whole);
      case 'Fn::If': {
        if (!Array.isArray(arg) || arg.length !== 3 || typeof arg[0] !== 'string') {
          throw this.error(stack, where, whole, 'expected [condition, then, else]');
        }
        const branch = this.condition(stack, where, arg[0]) ? arg[1] : arg[2];
        return this.walk(stack, where, branch ?? null);
      }
      case 'Condition':
        if (typeof arg !== 'string') throw this.error(stack, where, whole, 'Condition takes a name');
        return this.condition(stack, where, arg);
      case 'Fn::Equals': {
        if (!Array.isArray(arg) || arg.length !== 2) throw this.error(stack, where, whole, 'expected 2 args');
        return (
          JSON.stringify(this.walk(stack, where, arg[0] ?? null)) ===
          JSON.stringify(this.walk(stack, where, arg[1] ?? null))
        );
      }
      case 'Fn::And':
      case 'Fn::Or':
      case 'Fn::Not': {
        const values = this.list(stack, where, arg, whole);
        if (!values.every((v) => typeof v === 'boolean')) {
          throw this.error(stack, where, whole, 'expected booleans');
        }
        if (fn === 'Fn::Not') return !values[0];
        return fn === 'Fn::And' ? values.every(Boolean) : values.some(Boolean);
      }
      case 'Fn::FindInMap': {
        if (!Array.isArray(arg) || arg.length < 3) throw this.error(stack, where, whole, 'expected 3 args');
        const [map, top, second] = [str(arg[0] ?? null), str(arg[1] ?? null), str(arg[2] ?? null)];
        const found = stack.template.Mappings?.[map]?.[top]?.[second];
        if (found === undefined) throw this.error(stack, where, whole, `no mapping ${map}.${top}.${second}`);
        return found;
      }
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((az) => `${this.placement.region}${az}`);
      case 'Fn::Base64':
        return Buffer.from(str(arg)).toString('base64');
      case 'Fn::ToJsonString': {
        const out = this.walk(stack, where, arg);
        return JSON.stringify(out === NO_VALUE ? null : out);
      }
      case 'Fn::Length':
        return this.list(stack, where, arg, whole).length;
      default:
        throw this.error(stack, where, whole, `${fn} is not supported by the local cloud`);
    }
  }

  private refName(stack: StackInfo, where: string, name: string, whole: JsonValue): Resolved {
    switch (name) {
      case 'AWS::Region':
        return this.placement.region;
      case 'AWS::AccountId':
        return this.placement.account;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack.name;
      case 'AWS::StackId':
        return this.arn('cloudformation', `stack/${stack.name}/${this.uuid(stack, '')}`);
      case 'AWS::NotificationARNs':
        return [];
      case 'AWS::NoValue':
        return NO_VALUE;
    }
    const parameter = stack.template.Parameters?.[name];
    if (parameter !== undefined) {
      if (parameter.Default === undefined) {
        throw this.error(stack, where, whole, `parameter ${name} has no Default and no local value`);
      }
      return parameter.Default;
    }
    if (stack.resources[name] === undefined) {
      throw this.error(stack, where, whole, `no resource, parameter or pseudo parameter named ${name}`);
    }
    return this.ref(stack, name);
  }

  private sub(stack: StackInfo, where: string, arg: JsonValue, whole: JsonValue): string {
    const text = typeof arg === 'string' ? arg : Array.isArray(arg) ? arg[0] : undefined;
    const vars: JsonValue = Array.isArray(arg) ? (arg[1] ?? {}) : {};
    if (typeof text !== 'string' || !isObject(vars)) {
      throw this.error(stack, where, whole, 'expected a string or [string, variables]');
    }
    return text.replace(/\$\{([^}]*)\}/g, (_match, expr: string) => {
      // `${!Literal}` stands for the text `${Literal}`.
      if (expr.startsWith('!')) return `\${${expr.slice(1)}}`;
      const name = expr.trim();
      const local = vars[name];
      if (local !== undefined) return this.string(stack, where, local);
      const dot = name.indexOf('.');
      if (dot > 0 && !name.startsWith('AWS::')) {
        return this.attribute(stack, name.slice(0, dot), name.slice(dot + 1));
      }
      const out = this.refName(stack, where, name, whole);
      if (typeof out !== 'string') throw this.error(stack, where, whole, `\${${name}} is not a string`);
      return out;
    });
  }

  private importValue(stack: StackInfo, where: string, exportName: string, whole: JsonValue): Resolved {
    if (this.exports === undefined) {
      this.exports = new Map();
      for (const s of this.stacks) {
        for (const [outputId, output] of Object.entries(s.template.Outputs ?? {})) {
          if (output.Export === undefined) continue;
          this.exports.set(this.string(s, `Outputs.${outputId}`, output.Export.Name), {
            stack: s,
            value: output.Value,
          });
        }
      }
    }
    const found = this.exports.get(exportName);
    if (found === undefined) {
      throw this.error(stack, where, whole, `no stack of the assembly exports ${exportName}`);
    }
    return this.walk(found.stack, `export ${exportName}`, found.value);
  }
}
