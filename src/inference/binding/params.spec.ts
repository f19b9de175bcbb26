import { InvalidInputError } from '../inference.error';
import { ParamSpec, bindParams as sut, modelParameters } from './params';

const SPECS: ParamSpec[] = [
  { name: 'temperature', type: 'float', default: 0.5 },
  { name: 'top_k', type: 'integer', default: 3, shape: null },
  { name: 'seed', type: 'long', default: 42 },
  { name: 'greedy', type: 'boolean', default: false },
  { name: 'prefix', type: 'string', default: '' },
  { name: 'stop', type: 'string', default: ['.'], shape: [-1] },
  { name: 'since', type: 'datetime', default: '2026-01-01T00:00:00' },
  { name: 'scale', type: 'double', default: 1 },
];

const DEFAULTS = {
  temperature: 0.5,
  top_k: 3,
  seed: 42,
  greedy: false,
  prefix: '',
  stop: ['.'],
  since: '2026-01-01T00:00:00',
  scale: 1,
};

describe('bindParams', () => {
  it('gives every declared param its default when none is given', () => {
    expect(sut(undefined, SPECS)).toEqual({ params: DEFAULTS, ignored: [] });
    expect(sut({}, SPECS)).toEqual({ params: DEFAULTS, ignored: [] });
  });

  it('takes the params given and defaults the others', () => {
    const given = { temperature: 0.9, stop: ['\n', '##'], greedy: true };

    expect(sut(given, SPECS).params).toEqual({ ...DEFAULTS, ...given });
  });

  it('widens as MLflow does: an integer for long, float and double', () => {
    const given = { seed: 7, temperature: 1, scale: 2 };

    expect(sut(given, SPECS).params).toMatchObject(given);
  });

  it('passes null as null, as MLflow does for a scalar', () => {
    expect(sut({ prefix: null }, SPECS).params).toMatchObject({ prefix: null });
  });

  it('refuses an unknown param, naming it and what the model takes', () => {
    const call = () => sut({ temprature: 0.9 }, SPECS.slice(0, 2));

    expect(call).toThrow(InvalidInputError);
    expect(call).toThrow("unknown param 'temprature'; the model takes 'temperature', 'top_k'");
  });

  it.each([
    [{ temperature: 'hot' }, "param 'temperature' must be a float, got a string"],
    [{ top_k: 2.5 }, "param 'top_k' must be an integer, got a number"],
    [{ top_k: 2 ** 31 }, "param 'top_k' must be an integer, got a number"],
    [{ top_k: true }, "param 'top_k' must be an integer, got a boolean"],
    [{ seed: 1.5 }, "param 'seed' must be a long, got a number"],
    [{ greedy: 'true' }, "param 'greedy' must be a boolean, got a string"],
    [{ prefix: 3 }, "param 'prefix' must be a string, got a number"],
    [{ since: 'yesterday' }, "param 'since' must be a datetime, got a string"],
    [{ scale: [1] }, "param 'scale' must be a double, got a list"],
  ])('refuses %p, naming the param and its type', (given, message) => {
    expect(() => sut(given, SPECS)).toThrow(new InvalidInputError(message));
  });

  it('refuses a list param given a scalar, or a list with an item of another type', () => {
    expect(() => sut({ stop: '.' }, SPECS)).toThrow(
      "param 'stop' must be a list of string (shape [-1]), got a string",
    );
    expect(() => sut({ stop: ['.', 3] }, SPECS)).toThrow(
      "param 'stop' must be a list of string (shape [-1]), got a list",
    );
  });

  it('names the param as the field at fault', () => {
    try {
      sut({ greedy: 1 }, SPECS);
      throw new Error('not refused');
    } catch (error) {
      expect((error as InvalidInputError).field).toBe('params.greedy');
    }
  });

  it('checks an object param is an object', () => {
    const specs: ParamSpec[] = [{ name: 'config', type: 'object', default: {} }];

    expect(sut({ config: { a: 1 } }, specs).params).toEqual({ config: { a: 1 } });
    expect(() => sut({ config: [1] }, specs)).toThrow(
      "param 'config' must be an object, got a list",
    );
  });

  it('ignores the params of a model that declares none, saying which', () => {
    expect(sut({ temperature: 1, x: 2 }, [])).toEqual({
      params: undefined,
      ignored: ['temperature', 'x'],
    });
    expect(sut({ temperature: 1 }, undefined)).toEqual({
      params: undefined,
      ignored: ['temperature'],
    });
    expect(sut(undefined, undefined)).toEqual({ params: undefined, ignored: [] });
  });
});

describe('modelParameters', () => {
  it("takes the Open Inference protocol's own keys out, keeping the model's", () => {
    expect(
      modelParameters({
        temperature: 0.9,
        binary_data_output: true,
        content_type: 'np',
        headers: {},
        sequence_id: 1,
        priority: 2,
        timeout: 100,
      }),
    ).toEqual({ temperature: 0.9 });
  });

  it('answers nothing when nothing is left for the model', () => {
    expect(modelParameters({ binary_data_output: false })).toBeUndefined();
    expect(modelParameters(undefined)).toBeUndefined();
  });
});
