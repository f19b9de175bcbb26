import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';

/**
 * A body that must be a JSON object. Nest's ValidationPipe validates a missing
 * body as `{}` and passes it on, and a bare number or string passes as well:
 * so an empty POST used to start a real DAG run. Runs after the global
 * ValidationPipe, on what it hands over (undefined for no body at all).
 */
@Injectable()
export class JsonObjectPipe implements PipeTransform<unknown, object> {
  transform(value: unknown): object {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new BadRequestException(
        'a JSON object is required as the body (`{}` runs the default DAG with its defaults)',
      );
    }
    return value;
  }
}
