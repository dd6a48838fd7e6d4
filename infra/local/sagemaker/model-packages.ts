/** The model registry: model package groups and their versioned model packages. */
import * as z from 'zod';
import { validationError } from './api-error.ts';
import { type EmulatorContext, paginate, parseRequest, RESOURCE_NAME } from './context.ts';

const ApprovalStatus = z.enum(['Approved', 'Rejected', 'PendingManualApproval']);

const ContainerSchema = z.looseObject({
  Image: z.string().min(1).optional(),
  ModelDataUrl: z.string().optional(),
  Environment: z.record(z.string(), z.string()).optional(),
});

const CreateGroupSchema = z.looseObject({
  ModelPackageGroupName: z.string().regex(RESOURCE_NAME),
  ModelPackageGroupDescription: z.string().optional(),
});
const DescribeGroupSchema = z.looseObject({ ModelPackageGroupName: z.string().min(1) });
const CreatePackageSchema = z.looseObject({
  ModelPackageGroupName: z.string().min(1).optional(),
  ModelPackageName: z.string().regex(RESOURCE_NAME).optional(),
  ModelPackageDescription: z.string().optional(),
  InferenceSpecification: z
    .looseObject({
      Containers: z.array(ContainerSchema).min(1),
      SupportedContentTypes: z.array(z.string()).optional(),
      SupportedResponseMIMETypes: z.array(z.string()).optional(),
    })
    .optional(),
  ModelApprovalStatus: ApprovalStatus.optional(),
  CustomerMetadataProperties: z.record(z.string(), z.string()).optional(),
});
const DescribePackageSchema = z.looseObject({ ModelPackageName: z.string().min(1) });
const ListPackagesSchema = z.looseObject({
  ModelPackageGroupName: z.string().optional(),
  ModelApprovalStatus: ApprovalStatus.optional(),
  SortBy: z.enum(['Name', 'CreationTime']).optional(),
  SortOrder: z.enum(['Ascending', 'Descending']).optional(),
  MaxResults: z.number().int().min(1).max(100).optional(),
  NextToken: z.string().optional(),
});
const UpdatePackageSchema = z.looseObject({
  ModelPackageArn: z.string().min(1),
  ModelApprovalStatus: ApprovalStatus.optional(),
  ApprovalDescription: z.string().optional(),
  CustomerMetadataProperties: z.record(z.string(), z.string()).optional(),
  CustomerMetadataPropertiesToRemove: z.array(z.string()).optional(),
});

type CreatePackageRequest = z.infer<typeof CreatePackageSchema>;

interface PackageGroup {
  readonly name: string;
  readonly arn: string;
  readonly description?: string;
  readonly creationTime: Date;
  versions: number;
}

interface ModelPackage {
  readonly request: CreatePackageRequest;
  readonly arn: string;
  readonly name: string;
  readonly group?: string;
  readonly version?: number;
  readonly creationTime: Date;
  approvalStatus: string;
  approvalDescription?: string;
  customerMetadata?: Record<string, string>;
  lastModifiedTime: Date;
}

/** The container a model package describes, for CreateModel with ModelPackageName. */
export interface PackageContainer {
  readonly image: string;
  readonly modelDataUrl?: string;
}

/** Model package groups and model packages. */
export class ModelPackages {
  private readonly groups = new Map<string, PackageGroup>();
  private readonly packages = new Map<string, ModelPackage>();

  constructor(private readonly ctx: EmulatorContext) {}

  createGroup(body: unknown): { ModelPackageGroupArn: string } {
    const r = parseRequest(CreateGroupSchema, body);
    const arn = this.groupArn(r.ModelPackageGroupName);
    if (this.groups.has(r.ModelPackageGroupName)) {
      throw validationError(`Model Package Group already exists: ${arn}`);
    }
    this.groups.set(r.ModelPackageGroupName, {
      name: r.ModelPackageGroupName,
      arn,
      creationTime: new Date(),
      versions: 0,
      ...(r.ModelPackageGroupDescription === undefined
        ? {}
        : { description: r.ModelPackageGroupDescription }),
    });
    return { ModelPackageGroupArn: arn };
  }

  describeGroup(body: unknown): Record<string, unknown> {
    const r = parseRequest(DescribeGroupSchema, body);
    const group = this.groupByNameOrArn(r.ModelPackageGroupName);
    return {
      ModelPackageGroupName: group.name,
      ModelPackageGroupArn: group.arn,
      ...(group.description === undefined ? {} : { ModelPackageGroupDescription: group.description }),
      CreationTime: group.creationTime,
      CreatedBy: {},
      ModelPackageGroupStatus: 'Completed',
    };
  }

  create(body: unknown): { ModelPackageArn: string } {
    const r = parseRequest(CreatePackageSchema, body);
    const now = new Date();
    let pkg: ModelPackage;
    if (r.ModelPackageGroupName !== undefined) {
      const group = this.groupByNameOrArn(r.ModelPackageGroupName);
      group.versions += 1;
      pkg = {
        request: r,
        arn: `arn:aws:sagemaker:${this.ctx.region}:${this.ctx.account}:model-package/${group.name.toLowerCase()}/${group.versions}`,
        name: group.name,
        group: group.name,
        version: group.versions,
        creationTime: now,
        lastModifiedTime: now,
        approvalStatus: r.ModelApprovalStatus ?? 'PendingManualApproval',
        ...(r.CustomerMetadataProperties === undefined
          ? {}
          : { customerMetadata: r.CustomerMetadataProperties }),
      };
    } else if (r.ModelPackageName !== undefined) {
      const arn = `arn:aws:sagemaker:${this.ctx.region}:${this.ctx.account}:model-package/${r.ModelPackageName.toLowerCase()}`;
      if (this.packages.has(arn)) throw validationError(`Model Package already exists: ${arn}`);
      pkg = {
        request: r,
        arn,
        name: r.ModelPackageName,
        creationTime: now,
        lastModifiedTime: now,
        approvalStatus: r.ModelApprovalStatus ?? 'PendingManualApproval',
      };
    } else {
      throw validationError('Either ModelPackageGroupName or ModelPackageName must be specified.');
    }
    this.packages.set(pkg.arn, pkg);
    return { ModelPackageArn: pkg.arn };
  }

  describe(body: unknown): Record<string, unknown> {
    return this.summary(this.find(parseRequest(DescribePackageSchema, body).ModelPackageName), true);
  }

  list(body: unknown): Record<string, unknown> {
    const r = parseRequest(ListPackagesSchema, body);
    const group =
      r.ModelPackageGroupName === undefined ? undefined : this.groupByNameOrArn(r.ModelPackageGroupName);
    const sortBy = r.SortBy ?? 'CreationTime';
    const direction = r.SortOrder === 'Descending' ? -1 : 1;
    const matches = [...this.packages.values()]
      .filter((p) => (group ? p.group === group.name : p.group === undefined))
      .filter((p) => r.ModelApprovalStatus === undefined || p.approvalStatus === r.ModelApprovalStatus)
      .sort((a, b) => {
        const primary =
          sortBy === 'Name'
            ? a.name.localeCompare(b.name)
            : a.creationTime.getTime() - b.creationTime.getTime();
        return direction * (primary || (a.version ?? 0) - (b.version ?? 0));
      });
    const { page, nextToken } = paginate(matches, r.MaxResults, r.NextToken);
    return {
      ModelPackageSummaryList: page.map((p) => this.summary(p, false)),
      ...(nextToken === undefined ? {} : { NextToken: nextToken }),
    };
  }

  update(body: unknown): { ModelPackageArn: string } {
    const r = parseRequest(UpdatePackageSchema, body);
    const pkg = this.find(r.ModelPackageArn);
    if (r.ModelApprovalStatus !== undefined) pkg.approvalStatus = r.ModelApprovalStatus;
    if (r.ApprovalDescription !== undefined) pkg.approvalDescription = r.ApprovalDescription;
    if (r.CustomerMetadataProperties || r.CustomerMetadataPropertiesToRemove) {
      const next = { ...pkg.customerMetadata, ...r.CustomerMetadataProperties };
      for (const key of r.CustomerMetadataPropertiesToRemove ?? []) delete next[key];
      pkg.customerMetadata = next;
    }
    pkg.lastModifiedTime = new Date();
    return { ModelPackageArn: pkg.arn };
  }

  /** The image and model data of a package, for hosting. */
  container(nameOrArn: string): PackageContainer {
    const pkg = this.find(nameOrArn);
    const first = pkg.request.InferenceSpecification?.Containers[0];
    if (!first?.Image) throw validationError(`Model package ${pkg.arn} has no inference container image.`);
    return {
      image: first.Image,
      ...(first.ModelDataUrl === undefined ? {} : { modelDataUrl: first.ModelDataUrl }),
    };
  }

  private groupArn(name: string): string {
    return `arn:aws:sagemaker:${this.ctx.region}:${this.ctx.account}:model-package-group/${name.toLowerCase()}`;
  }

  private groupByNameOrArn(nameOrArn: string): PackageGroup {
    const name = nameOrArn.startsWith('arn:') ? (nameOrArn.split('/').pop() ?? '') : nameOrArn;
    const group = [...this.groups.values()].find((g) => g.name === name || g.name.toLowerCase() === name);
    if (!group) throw validationError(`ModelPackageGroup ${nameOrArn} does not exist.`);
    return group;
  }

  private find(nameOrArn: string): ModelPackage {
    const byArn = this.packages.get(nameOrArn);
    if (byArn) return byArn;
    const byName = [...this.packages.values()].find((p) => p.group === undefined && p.name === nameOrArn);
    if (byName) return byName;
    throw validationError(`ModelPackage ${nameOrArn} does not exist.`);
  }

  private summary(p: ModelPackage, full: boolean): Record<string, unknown> {
    const r = p.request;
    const base: Record<string, unknown> = {
      ModelPackageName: p.name,
      ...(p.group === undefined ? {} : { ModelPackageGroupName: p.group, ModelPackageVersion: p.version }),
      ModelPackageArn: p.arn,
      ...(r.ModelPackageDescription === undefined
        ? {}
        : { ModelPackageDescription: r.ModelPackageDescription }),
      CreationTime: p.creationTime,
      ModelPackageStatus: 'Completed',
      ModelApprovalStatus: p.approvalStatus,
    };
    if (!full) return base;
    const {
      ModelPackageGroupName: _g,
      ModelPackageName: _n,
      ModelApprovalStatus: _s,
      CustomerMetadataProperties: _c,
      ...rest
    } = r;
    return {
      ...rest,
      ...base,
      ModelPackageStatusDetails: { ValidationStatuses: [], ImageScanStatuses: [] },
      CertifyForMarketplace: false,
      ...(p.approvalDescription === undefined ? {} : { ApprovalDescription: p.approvalDescription }),
      ...(p.customerMetadata === undefined ? {} : { CustomerMetadataProperties: p.customerMetadata }),
      LastModifiedTime: p.lastModifiedTime,
    };
  }
}
