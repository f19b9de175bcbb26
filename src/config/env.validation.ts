import { plainToInstance } from 'class-transformer';
import { ValidationError, validateSync } from 'class-validator';

export type Environment = Record<string, string | undefined>;
type EnvClass = new () => object;

/** A bad environment: names every bad variable and the rule it broke, never a value. */
export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = ConfigValidationError.name;
  }
}

/**
 * Validates `env` against one namespace's class and returns the typed instance.
 * Empty strings count as unset, so `FOO=` in a .env file means "use the default".
 */
export function parseEnvironment<T extends object>(cls: new () => T, env: Environment): T {
  const { instance, problems } = check(cls, env);
  if (problems.length > 0) {
    throw new ConfigValidationError(problems);
  }
  return instance;
}

/** Validates every namespace at once, so one start shows every problem. */
export function assertValidEnvironment(classes: readonly EnvClass[], env: Environment): void {
  const problems = classes.flatMap((cls) => check(cls, env).problems);
  if (problems.length > 0) {
    throw new ConfigValidationError([...new Set(problems)]);
  }
}

function check<T extends object>(
  cls: new () => T,
  env: Environment,
): { instance: T; problems: string[] } {
  const defined = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const instance = plainToInstance(cls, defined, { exposeDefaultValues: true });
  const errors = validateSync(instance, {
    skipMissingProperties: false,
    forbidUnknownValues: false,
  });
  return { instance, problems: errors.flatMap(describe) };
}

function describe(error: ValidationError): string[] {
  // class-validator's default messages name the property and the rule; we
  // never build a message from `error.value`, which may be a secret.
  const own = Object.values(error.constraints ?? {}).map((rule) =>
    rule.startsWith(error.property) ? rule : `${error.property}: ${rule}`,
  );
  return [...own, ...(error.children ?? []).flatMap(describe)];
}
