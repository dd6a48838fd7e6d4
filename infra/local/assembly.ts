/**
 * Reads a synthesized cloud assembly (cdk.out) into the local resource model: every stack
 * template, with its intrinsics resolved against local names and ARNs.
 *
 * A small resolver is written here rather than using cfn-resolver-lib: that library needs a
 * hand-made map for every Ref/GetAtt, knows nothing of cross-stack exports or of cdk.out assets,
 * and leaves what it cannot resolve in place silently, where this one must fail loudly.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LOCAL_ACCOUNT } from './engines/credentials.ts';
import type {
  LocalAssembly,
  LocalEventRule,
  LocalFunction,
  LocalIndex,
  LocalKey,
  LocalObjectLock,
  LocalPlacement,
  LocalResourceRef,
  LocalRoute,
  LocalSchedule,
  LocalStateMachine,
  LocalStreamMapping,
  LocalTable,
} from './model.ts';

/** A JSON value as found in a CloudFormation template. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
type JsonObject = { [key: string]: JsonValue };

/** A template value that cannot be resolved locally; the message names stack, resource and intrinsic. */
export class TemplateResolutionError extends Error {
  override readonly name = 'TemplateResolutionError';
}

/** A cloud assembly that cannot be read (missing manifest, template or asset). */
export class AssemblyReadError extends Error {
  override readonly name = 'AssemblyReadError';
}

export interface LoadAssemblyOptions {
  /**
   * Region of every local ARN.
   * @default - the region of the first stack with an explicit one, else 'us-east-1'
   */
  readonly region?: string;
}

interface CfnResource {
  readonly Type: string;
  readonly Properties?: JsonObject;
  readonly Condition?: string;
}

interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly Parameters?: Record<string, { readonly Default?: JsonValue }>;
  readonly Outputs?: Record<
    string,
    { readonly Value: JsonValue; readonly Export?: { readonly Name: JsonValue } }
  >;
  readonly Conditions?: Record<string, JsonValue>;
  readonly Mappings?: Record<string, Record<string, Record<string, JsonValue>>>;
}

interface StackInfo {
  readonly name: string;
  readonly template: CfnTemplate;
  readonly resources: Record<string, CfnResource>;
}

/** Marks AWS::NoValue: the enclosing property or list element disappears. */
const NO_VALUE: unique symbol = Symbol('AWS::NoValue');
type Resolved = JsonValue | typeof NO_VALUE;

const DEFAULT_REGION = 'us-east-1';

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
};

/** Maximum name length per resource type, where AWS has a short one. */
const NAME_LIMIT: Readonly<Record<string, number>> = {
  'AWS::Lambda::Function': 64,
  'AWS::StepFunctions::StateMachine': 80,
  'AWS::SQS::Queue': 80,
  'AWS::IAM::Role': 64,
  'AWS::Events::Rule': 64,
  'AWS::Scheduler::Schedule': 64,
};

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readJson(file: string): unknown {
  if (!existsSync(file)) throw new AssemblyReadError(`cloud assembly file not found: ${file}`);
  return JSON.parse(readFileSync(file, 'utf8'));
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

interface AssetIndex {
  /** S3 object key (`<hash>.zip`, `<hash>.json`) to the absolute path of the asset in cdk.out. */
  readonly byObjectKey: Map<string, string>;
}

interface StackArtifact {
  readonly dir: string;
  readonly artifactId: string;
  readonly name: string;
  readonly templateFile: string;
  readonly region?: string;
}

/** Walks the manifest, descending into nested assemblies (CDK Stages). */
function collectArtifacts(dir: string, stacks: StackArtifact[], assets: AssetIndex): void {
  const manifest = readJson(join(dir, 'manifest.json'));
  if (!isObject(manifest) || !isObject(manifest.artifacts ?? {})) {
    throw new AssemblyReadError(`${join(dir, 'manifest.json')} has no artifacts object`);
  }
  const artifacts = isObject(manifest.artifacts) ? manifest.artifacts : {};
  for (const [artifactId, artifact] of Object.entries(artifacts)) {
    if (!isObject(artifact)) continue;
    const props = isObject(artifact.properties) ? artifact.properties : {};
    if (artifact.type === 'aws:cloudformation:stack') {
      const templateFile = props.templateFile;
      if (typeof templateFile !== 'string') {
        throw new AssemblyReadError(`stack artifact ${artifactId} has no templateFile`);
      }
      const env = typeof artifact.environment === 'string' ? artifact.environment : '';
      const region = /^aws:\/\/[^/]*\/(.+)$/.exec(env)?.[1];
      stacks.push({
        dir,
        artifactId,
        name: typeof props.stackName === 'string' ? props.stackName : artifactId,
        templateFile: join(dir, templateFile),
        region: region && region !== 'unknown-region' ? region : undefined,
      });
    } else if (artifact.type === 'cdk:asset-manifest' && typeof props.file === 'string') {
      indexAssets(dir, join(dir, props.file), assets);
    } else if (artifact.type === 'cdk:cloud-assembly' && typeof props.directoryName === 'string') {
      collectArtifacts(join(dir, props.directoryName), stacks, assets);
    }
  }
}

function indexAssets(dir: string, file: string, assets: AssetIndex): void {
  const manifest = readJson(file);
  const files = isObject(manifest) && isObject(manifest.files) ? manifest.files : {};
  for (const entry of Object.values(files)) {
    if (!isObject(entry) || !isObject(entry.source) || typeof entry.source.path !== 'string') continue;
    const path = resolve(dir, entry.source.path);
    const destinations = isObject(entry.destinations) ? entry.destinations : {};
    for (const destination of Object.values(destinations)) {
      if (isObject(destination) && typeof destination.objectKey === 'string') {
        assets.byObjectKey.set(destination.objectKey, path);
      }
    }
  }
}

/** Resolves intrinsics of every stack of one assembly against local names. */
class TemplateResolver {
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

/** Reads manifest.json (and nested assemblies), every stack template and asset manifest of `cdkOutDir`. */
export function loadAssembly(cdkOutDir: string, options: LoadAssemblyOptions = {}): LocalAssembly {
  const dir = resolve(cdkOutDir);
  const artifacts: StackArtifact[] = [];
  const assets: AssetIndex = { byObjectKey: new Map() };
  collectArtifacts(dir, artifacts, assets);
  const placement: LocalPlacement = {
    region: options.region ?? artifacts.find((a) => a.region !== undefined)?.region ?? DEFAULT_REGION,
    account: LOCAL_ACCOUNT,
  };
  const stacks: StackInfo[] = artifacts.map((a) => {
    const template = readJson(a.templateFile);
    if (!isObject(template)) throw new AssemblyReadError(`${a.templateFile} is not a JSON object`);
    const typed = template as CfnTemplate;
    return { name: a.name, template: typed, resources: typed.Resources ?? {} };
  });
  const resolver = new TemplateResolver(stacks, placement);
  const reader = new AssemblyReader(resolver, stacks, assets);
  return {
    dir,
    placement,
    functions: reader.functions(),
    tables: reader.tables(),
    buckets: reader.simple('AWS::S3::Bucket', (stack, id) => ({
      arn: resolver.attribute(stack, id, 'Arn'),
      eventBridge: eventBridgeEnabled(stack.resources[id]),
      ...objectLockOf(stack.resources[id]),
    })),
    keys: reader.simple('AWS::KMS::Key', (stack, id) => ({
      arn: resolver.attribute(stack, id, 'Arn'),
      keySpec: stringProperty(stack.resources[id], 'KeySpec') ?? 'SYMMETRIC_DEFAULT',
      keyUsage: stringProperty(stack.resources[id], 'KeyUsage') ?? 'ENCRYPT_DECRYPT',
    })),
    stateMachines: reader.stateMachines(),
    routes: [...reader.restRoutes(), ...reader.httpRoutes()],
    schedules: reader.schedules(),
    topics: reader.simple('AWS::SNS::Topic', (stack, id) => ({ arn: resolver.ref(stack, id) })),
    eventRules: reader.eventRules(),
    modelPackageGroups: reader.simple('AWS::SageMaker::ModelPackageGroup', (stack, id) => ({
      arn: resolver.arn('sagemaker', `model-package-group/${resolver.physicalName(stack, id).toLowerCase()}`),
    })),
    streamMappings: reader.streamMappings(),
    warnings: reader.warnings,
  };
}

/** A literal string property of a resource (KeySpec, KeyUsage: never intrinsics in practice). */
function stringProperty(resource: CfnResource | undefined, name: string): string | undefined {
  const value = resource?.Properties?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** A bucket's Object Lock default retention, when it has Object Lock on with one. */
function objectLockOf(resource: CfnResource | undefined): { objectLock?: LocalObjectLock } {
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
function eventBridgeEnabled(resource: CfnResource | undefined): boolean {
  const config = resource?.Properties?.NotificationConfiguration;
  const eb = isObject(config) ? config.EventBridgeConfiguration : undefined;
  return isObject(eb) && eb.EventBridgeEnabled === true;
}

/** Turns the resolved templates into the local model, one resource kind at a time. */
class AssemblyReader {
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
