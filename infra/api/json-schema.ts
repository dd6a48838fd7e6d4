/**
 * zod → JSON Schema, so API Gateway request models and the OpenAPI document come from the same
 * schemas the handlers parse with.
 */
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as z from 'zod';

/** JSON Schema draft-04 of a request schema (what API Gateway models accept), as its input side. */
export function apiGatewayModelSchema(schema: z.ZodType, title: string): apigw.JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-4',
    io: 'input',
    unrepresentable: 'any',
  });
  return {
    schema: 'http://json-schema.org/draft-04/schema#' as apigw.JsonSchemaVersion,
    title,
    ...rest,
  } as apigw.JsonSchema;
}

/** OpenAPI 3.0 schema object of a request or response schema. */
export function openApiSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
}
