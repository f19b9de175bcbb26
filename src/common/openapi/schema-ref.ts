import type { ReferenceObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

type JsonType = 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';

/**
 * A JSON Schema (2020-12, the dialect of OpenAPI 3.1). @nestjs/swagger's own
 * SchemaObject is OpenAPI 3.0's (no type lists, no `const`), so the schemas we
 * write are typed here and handed to its decorators as they are.
 */
export interface JsonSchema {
  $ref?: string;
  type?: JsonType | JsonType[];
  description?: string;
  title?: string;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  examples?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  minProperties?: number;
  maxProperties?: number;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  not?: JsonSchema;
}

/** Named schemas a feature adds to the document's `components.schemas`. */
export type SchemaCatalog = Record<string, JsonSchema>;

/**
 * A `$ref` to a schema of a catalog, by a name the compiler checks against it,
 * so that a route never points at a schema no one registered (the catalogs are
 * merged into the document in src/openapi/openapi.document.ts).
 */
export function schemaRef<C extends SchemaCatalog>(
  _catalog: C,
  name: keyof C & string,
): ReferenceObject & JsonSchema {
  return { $ref: `#/components/schemas/${name}` };
}
