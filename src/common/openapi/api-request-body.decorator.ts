import type { RequestBodyObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { DECORATORS } from '@nestjs/swagger/dist/constants';
import { JsonSchema } from './schema-ref';

/**
 * A request body with a schema per media type (MLflow scoring takes JSON and
 * CSV), which `@ApiBody` cannot say: it gives every media type one schema.
 * Written into the operation's metadata beside `@ApiOperation`'s, in either order.
 */
export function ApiRequestBody(
  description: string,
  content: Record<string, { schema: JsonSchema; example?: unknown }>,
): MethodDecorator {
  const requestBody = { required: true, description, content } as RequestBodyObject;
  return (_target, _key, descriptor) => {
    const previous = Reflect.getMetadata(DECORATORS.API_OPERATION, descriptor.value as object) as
      object | undefined;
    Reflect.defineMetadata(
      DECORATORS.API_OPERATION,
      { ...previous, requestBody },
      descriptor.value as object,
    );
    return descriptor;
  };
}
