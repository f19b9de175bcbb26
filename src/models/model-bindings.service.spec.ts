import { LoadedModel } from './loaded-model';
import { ModelBindings } from './model-bindings.service';
import { FakeRuntime } from './testing/model-fakes';

function loaded(name: string, version: string): LoadedModel {
  return new LoadedModel({
    name,
    version,
    flavor: 'onnx',
    runtime: new FakeRuntime(),
    directory: `/tmp/${name}/${version}`,
    sizeBytes: 1_000,
    fromCache: false,
    loadDurationMs: 5,
  });
}

describe(ModelBindings.name, () => {
  let sut: ModelBindings;

  beforeEach(() => {
    sut = new ModelBindings();
  });

  it('gives readers a frozen snapshot that later changes do not reach', () => {
    const binding = sut.bind(
      { name: 'iris', selector: { kind: 'alias', alias: 'champion' } },
      true,
    );
    binding.model = loaded('iris', '1');
    binding.state = 'ready';

    const [view] = sut.views();
    binding.model = loaded('iris', '2');
    binding.lastError = { message: 'later', at: new Date() };

    expect(view).toMatchObject({
      key: 'iris@champion',
      name: 'iris',
      pinned: true,
      state: 'ready',
      version: '1',
      versionKey: 'iris/1',
      runtime: 'onnx',
      flavor: 'onnx',
    });
    expect(view.lastError).toBeUndefined();
    expect(Object.isFrozen(view)).toBe(true);
    expect(Object.isFrozen(view.ref)).toBe(true);
    expect(sut.views()[0].version).toBe('2');
  });

  it('shows no promise of a load or reload under way', () => {
    const binding = sut.bind({ name: 'iris', selector: { kind: 'default' } }, false);
    binding.pending = new Promise(() => undefined);

    expect(Object.keys(sut.views()[0])).not.toContain('pending');
    expect(Object.keys(sut.views()[0])).not.toContain('reloading');
  });

  it('keeps one binding per reference, binding it again changes nothing', () => {
    const ref = { name: 'iris', selector: { kind: 'version', version: '3' } } as const;
    const first = sut.bind(ref, true);

    expect(sut.bind(ref, false)).toBe(first);
    expect(sut.views().map((v) => [v.key, v.pinned])).toEqual([['iris/3', true]]);
  });

  it('answers a bare name from a served binding of that model, in MODELS order', () => {
    sut.bind({ name: 'iris', selector: { kind: 'alias', alias: 'loading' } }, true);
    const served = sut.bind({ name: 'iris', selector: { kind: 'alias', alias: 'champion' } }, true);
    served.model = loaded('iris', '4');

    expect(sut.answering({ name: 'iris', selector: { kind: 'default' } })).toBe(served);
    // A reference with a selector answers from its own binding only.
    expect(sut.answering({ name: 'iris', selector: { kind: 'version', version: '4' } })).toBe(
      undefined,
    );
    expect(sut.answering({ name: 'wine', selector: { kind: 'default' } })).toBeUndefined();
  });

  it('forgets every binding an evicted version served, and tells what is pinned', () => {
    const model = loaded('iris', '1');
    const pinned = sut.bind({ name: 'iris', selector: { kind: 'alias', alias: 'champion' } }, true);
    const other = sut.bind({ name: 'iris', selector: { kind: 'version', version: '1' } }, false);
    other.model = model;

    expect(sut.pins(model)).toBe(false);
    expect(sut.uses(model)).toBe(true);
    pinned.model = model;
    expect(sut.pins(model)).toBe(true);

    sut.unbind(model);
    expect(sut.views()).toEqual([]);
    expect(sut.uses(model)).toBe(false);
  });

  it('finds every binding of one registered model, whatever its selector', () => {
    sut.bind({ name: 'iris', selector: { kind: 'alias', alias: 'champion' } }, true);
    sut.bind({ name: 'iris', selector: { kind: 'version', version: '3' } }, false);
    sut.bind({ name: 'iris2', selector: { kind: 'default' } }, false);

    expect(sut.named('iris').map((b) => b.key)).toEqual(['iris@champion', 'iris/3']);
    expect(sut.named('wine')).toEqual([]);
  });
});
