import { InvalidInputError } from '../inference.error';
import { decodeIndexRequest, decodeLoadRequest, decodeUnloadRequest } from './repository.codec';

describe('repository codec', () => {
  describe(decodeIndexRequest.name, () => {
    it.each([undefined, null, '', {}, { ready: null }])('reads %p as every model', (body) => {
      expect(decodeIndexRequest(body)).toEqual({});
    });

    it('reads ready', () => {
      expect(decodeIndexRequest({ ready: true })).toEqual({ ready: true });
      expect(decodeIndexRequest({ ready: false, other: 1 })).toEqual({ ready: false });
    });

    it('refuses a body that is not an object, and a ready that is not a boolean, naming it', () => {
      expect(() => decodeIndexRequest([])).toThrow(
        new InvalidInputError('the request body must be a JSON object, got a list'),
      );
      expect(() => decodeIndexRequest('{"ready": true}')).toThrow(/got a string/);
      expect(() => decodeIndexRequest({ ready: 'yes' })).toThrow(
        "'ready' must be a boolean, got a string",
      );
    });
  });

  describe(decodeLoadRequest.name, () => {
    it('takes nothing, an empty object, or parameters it ignores', () => {
      for (const body of [undefined, '', {}, { parameters: {} }, { parameters: { x: 1 } }]) {
        expect(() => decodeLoadRequest(body)).not.toThrow();
      }
    });

    it("refuses Triton's configuration override, and parameters that are not an object", () => {
      expect(() => decodeLoadRequest({ parameters: { config: '{}' } })).toThrow(
        /'parameters.config' is not supported/,
      );
      expect(() => decodeLoadRequest({ parameters: [] })).toThrow(
        "'parameters' must be an object, got a list",
      );
    });
  });

  describe(decodeUnloadRequest.name, () => {
    it("takes tritonclient's body and nothing", () => {
      expect(() => decodeUnloadRequest({ parameters: { unload_dependents: false } })).not.toThrow();
      expect(() => decodeUnloadRequest(undefined)).not.toThrow();
    });

    it('refuses an unload_dependents that is not a boolean', () => {
      expect(() => decodeUnloadRequest({ parameters: { unload_dependents: 'no' } })).toThrow(
        "'parameters.unload_dependents' must be a boolean, got a string",
      );
    });
  });
});
