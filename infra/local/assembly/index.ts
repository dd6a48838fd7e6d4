/**
 * Reads a synthesized cloud assembly (cdk.out) into the local resource model: every stack
 * template, with its intrinsics resolved against local names and ARNs. The manifest walk is in
 * manifest.ts, the intrinsic resolver in resolver.ts and the resource kinds in reader.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LOCAL_ACCOUNT } from '../engines/credentials.ts';
import type { LocalAssembly, LocalPlacement } from '../model.ts';
import { AssemblyReadError, readManifest } from './manifest.ts';
import { AssemblyReader, eventBridgeEnabled, objectLockOf, stringProperty } from './reader.ts';
import { type CfnTemplate, isObject, type StackInfo, TemplateResolver } from './resolver.ts';

export { TemplateResolutionError } from './resolver.ts';

/** How `loadAssembly` places the local resources. */
export interface LoadAssemblyOptions {
  /**
   * Region of every local ARN.
   * @default - the region of the first stack with an explicit one, else 'us-east-1'
   */
  readonly region?: string;
}

const DEFAULT_REGION = 'us-east-1';

/** A template file, parsed; its JSON errors are left as they are. */
function readJson(file: string): unknown {
  if (!existsSync(file)) throw new AssemblyReadError(`cloud assembly file not found: ${file}`);
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Reads manifest.json (and nested assemblies), every stack template and asset manifest of `cdkOutDir`. */
export function loadAssembly(cdkOutDir: string, options: LoadAssemblyOptions = {}): LocalAssembly {
  const dir = resolve(cdkOutDir);
  const { stacks: artifacts, assets } = readManifest(dir);
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
    alarms: reader.alarms(),
    deliveryStreams: reader.deliveryStreams(),
    warnings: reader.warnings,
  };
}
