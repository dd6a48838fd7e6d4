/**
 * cdk-nag names a wildcard finding after the policy's resource as it renders it
 * (`AwsSolutions-IAM5[Resource::<Bucket.Arn>/prefix/*]`), and an acknowledgement must repeat that
 * exact ID. This renders a token the same way, so an acknowledgement follows the resource it
 * concerns instead of hard-coding logical IDs.
 */
import { Fn, Stack } from 'aws-cdk-lib';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';

function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const o = node as Record<string, unknown>;
    if (Array.isArray(o['Fn::Join'])) {
      const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (o['Fn::Sub'] !== undefined) return flatten(o['Fn::Sub']);
    if (Array.isArray(o['Fn::GetAtt'])) {
      const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (o['Fn::ImportValue'] !== undefined) return flatten(o['Fn::ImportValue']);
    if (o.Ref !== undefined) return `<${flatten(o.Ref)}>`;
  }
  return JSON.stringify(node);
}

/** The IAM5 finding ID cdk-nag gives a wildcard `resource` (a string or token) used in `scope`'s stack. */
export function iam5ResourceFinding(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flatten(Stack.of(scope).resolve(resource))}]`;
}

/**
 * A bucket's ARN as `scope`'s stack can use it. Across stacks it goes through a named export
 * (`<home stack>-<label>Arn`), so a policy on its objects, and the nag acknowledgement of that
 * policy's wildcard, read the same at every synth.
 */
export function bucketArnFor(scope: IConstruct, bucket: IBucket, label: string): string {
  const home = Stack.of(bucket);
  const here = Stack.of(scope);
  if (home === here) return bucket.bucketArn;
  const exportName = `${home.stackName}-${label}Arn`;
  // A named export can be declared once per stack; later callers (other constructs, other
  // pipelines) import the same name.
  if (home.node.tryFindChild(`Export${exportName}`) === undefined) {
    home.exportValue(bucket.bucketArn, { name: exportName });
  }
  here.addStackDependency(home, `the ${label} bucket ARN is imported by name`);
  return Fn.importValue(exportName);
}
