/**
 * Walks the manifest of a synthesized cloud assembly (cdk.out) with aws-cdk-lib's `CloudAssembly`:
 * the stack artifacts with their names, template files and regions, and the file assets of every
 * asset manifest, descending into nested assemblies (CDK Stages). Artifacts are taken in manifest
 * order (`topoSort: false`) and nested assemblies where they stand, depth first, as the
 * hand-written walk this replaces did: the first stack with a region sets the local region, so the
 * order is part of the behaviour, and both `stacksRecursively` (breadth first) and the default
 * topological sort (by artifact ID among equals) would change it. Whatever `CloudAssembly` throws
 * (a bad manifest, an unsupported schema version, an artifact without templateFile, environment or
 * file) becomes an `AssemblyReadError` naming the file.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  AssetManifestArtifact,
  CloudAssembly,
  CloudFormationStackArtifact,
  NestedCloudAssemblyArtifact,
  UNKNOWN_REGION,
} from 'aws-cdk-lib/cx-api';

/** A cloud assembly that cannot be read (missing manifest, template or asset). */
export class AssemblyReadError extends Error {
  override readonly name = 'AssemblyReadError';
}

/** The file assets of an assembly, by the S3 object key its templates refer to them with. */
export interface AssetIndex {
  /** S3 object key (`<hash>.zip`, `<hash>.json`) to the absolute path of the asset in cdk.out. */
  readonly byObjectKey: Map<string, string>;
}

/** One stack of the assembly, as its manifest declares it. */
export interface StackArtifact {
  readonly dir: string;
  readonly artifactId: string;
  readonly name: string;
  readonly templateFile: string;
  readonly region?: string;
}

/** Every stack and file asset of the assembly in `dir` and of its nested assemblies. */
export function readManifest(dir: string): { stacks: StackArtifact[]; assets: AssetIndex } {
  const stacks: StackArtifact[] = [];
  const assets: AssetIndex = { byObjectKey: new Map() };
  collectArtifacts(dir, stacks, assets);
  return { stacks, assets };
}

/** Walks the manifest, descending into nested assemblies (CDK Stages). */
function collectArtifacts(dir: string, stacks: StackArtifact[], assets: AssetIndex): void {
  const assembly = readAssemblyFile(
    join(dir, 'manifest.json'),
    () => new CloudAssembly(dir, { topoSort: false }),
  );
  for (const artifact of assembly.artifacts) {
    if (CloudFormationStackArtifact.isCloudFormationStackArtifact(artifact)) {
      const region = artifact.environment.region;
      stacks.push({
        dir,
        artifactId: artifact.id,
        // CloudAssembly falls back to the artifact ID when the manifest gives no stackName.
        name: artifact.stackName,
        templateFile: artifact.templateFullPath,
        region: region && region !== UNKNOWN_REGION ? region : undefined,
      });
    } else if (AssetManifestArtifact.isAssetManifestArtifact(artifact)) {
      indexAssets(dir, artifact, assets);
    } else if (NestedCloudAssemblyArtifact.isNestedCloudAssemblyArtifact(artifact)) {
      // CloudAssembly does not check directoryName; an artifact without one is skipped, as it always was.
      if (artifact.directoryName) collectArtifacts(artifact.fullPath, stacks, assets);
    }
  }
}

function indexAssets(dir: string, artifact: AssetManifestArtifact, assets: AssetIndex): void {
  const files = readAssemblyFile(artifact.file, () => artifact.contents.files ?? {});
  for (const entry of Object.values(files)) {
    if (typeof entry.source.path !== 'string') continue;
    // Relative to the assembly directory, which is where CDK writes the asset manifest.
    const path = resolve(dir, entry.source.path);
    for (const destination of Object.values(entry.destinations)) {
      assets.byObjectKey.set(destination.objectKey, path);
    }
  }
}

/** Runs `load` on `file`, which must exist; what it throws becomes an AssemblyReadError naming the file. */
function readAssemblyFile<T>(file: string, load: () => T): T {
  if (!existsSync(file)) throw new AssemblyReadError(`cloud assembly file not found: ${file}`);
  try {
    return load();
  } catch (e) {
    throw new AssemblyReadError(`${file} cannot be read: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
}
