import { applyDecorators } from '@nestjs/common';
import { ApiParam } from '@nestjs/swagger';
import { MODEL_NAME_SOURCE } from '../../common/model-reference';

/**
 * Path parameters of the prediction and metadata routes, with the patterns
 * common/model-reference.ts parses (a name has no "/", ":", "@" or space; an alias
 * is a word; a version a whole number).
 */
export const MODEL_NAME_PATTERN = MODEL_NAME_SOURCE;
export const MODEL_REF_PATTERN = `${MODEL_NAME_SOURCE.slice(0, -1)}(@[A-Za-z0-9_-]+)?$`;
export const VERSION_PATTERN = '^[0-9]+$';
export const ALIAS_PATTERN = '^[A-Za-z0-9_-]+$';

/** `{name}` that also takes `name@alias` (unversioned routes). */
export const ApiModelRefParam = (name: string): MethodDecorator =>
  ApiParam({
    name,
    description: 'A registered model name, or name@alias; a bare name means the default alias',
    schema: {
      type: 'string',
      pattern: MODEL_REF_PATTERN,
      examples: ['iris', 'iris@champion'],
    },
  });

/** `{name}` and `{version}` of the `/versions/{version}` routes. */
export const ApiModelVersionParams = (): MethodDecorator =>
  applyDecorators(
    ApiParam({
      name: 'name',
      description: 'A registered model name',
      schema: { type: 'string', pattern: MODEL_NAME_PATTERN },
    }),
    ApiParam({
      name: 'version',
      description: 'A registered version number',
      schema: { type: 'string', pattern: VERSION_PATTERN, examples: ['1'] },
    }),
  );
