import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import { TestEnvironment } from 'jest-environment-node';

/**
 * Jest runs tests in a VM context with its own typed-array constructors, but
 * onnxruntime-node's native addon returns outputs allocated in Node's main
 * realm, and onnxruntime-common then rejects them (`instanceof BigInt64Array`
 * is false across realms). A real server has one realm; give the tests the
 * same by exposing the main realm's constructors.
 */
const TYPED_ARRAYS = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

export default class SingleRealmTypedArraysEnvironment extends TestEnvironment {
  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    Object.assign(this.global, TYPED_ARRAYS);
  }
}
