import { IsOptional } from 'class-validator';
import { ConfigValidationError, parseEnvironment } from './env.validation';
import { ParsesWith } from './parses-with';

function evenList(text: string): number[] {
  const numbers = text.split(',').map(Number);
  if (numbers.some((n) => n % 2 !== 0)) throw new Error('holds an odd number');
  return numbers;
}

class Sample {
  @IsOptional()
  @ParsesWith(evenList, { hint: '2,4,6' })
  EVENS?: string;

  @IsOptional()
  @ParsesWith(evenList, { message: 'FIXED must be even numbers' })
  FIXED?: string;

  @IsOptional()
  @ParsesWith<Sample>((value, env) => {
    if (value !== env.LIMIT_NAME) throw new Error('must equal LIMIT_NAME');
  })
  SAME?: string;

  LIMIT_NAME = 'a';
}

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    parseEnvironment(Sample, env);
    return [];
  } catch (error) {
    return (error as ConfigValidationError).problems;
  }
};

describe('ParsesWith', () => {
  it('passes what the parser reads', () => {
    expect(problemsOf({ EVENS: '2,4', FIXED: '8', SAME: 'a' })).toEqual([]);
  });

  it("refuses with the parser's message and the hint, never the value", () => {
    const [problem] = problemsOf({ EVENS: '2,3' });
    expect(problem).toBe('EVENS: holds an odd number (2,4,6)');
  });

  it('gives a fixed message when one is set', () => {
    expect(problemsOf({ FIXED: '1' })).toEqual(['FIXED must be even numbers']);
  });

  it("hands the parser the namespace's other variables", () => {
    expect(problemsOf({ SAME: 'b', LIMIT_NAME: 'b' })).toEqual([]);
    expect(problemsOf({ SAME: 'b' })).toEqual(['SAME: must equal LIMIT_NAME']);
  });
});
