import { ValidateBy, ValidationArguments, ValidationOptions } from 'class-validator';

/**
 * Validates a variable by reading it with the parser the server then uses, so
 * what passes is exactly what the server follows. A refusal is the parser's
 * own message (which names the rule, never the value) with `hint` after it,
 * unless `options.message` gives a fixed one. `parse` is also given the
 * namespace's other variables, for rules that join two of them.
 */
export function ParsesWith<E extends object>(
  parse: (value: string, env: E) => unknown,
  options: ValidationOptions & { hint?: string } = {},
): PropertyDecorator {
  const { hint, ...validation } = options;
  const problem = (value: unknown, env: E): string | undefined => {
    if (typeof value !== 'string') return 'must be text';
    try {
      parse(value, env);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  };
  return ValidateBy(
    {
      name: 'parsesWith',
      validator: {
        validate: (value: unknown, args?: ValidationArguments) =>
          problem(value, args!.object as E) === undefined,
        defaultMessage: (args?: ValidationArguments) =>
          `${args!.property}: ${problem(args!.value, args!.object as E)}${hint ? ` (${hint})` : ''}`,
      },
    },
    validation,
  );
}
