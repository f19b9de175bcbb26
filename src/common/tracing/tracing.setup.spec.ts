import { TRACES_SAMPLERS } from '../../config/tracing.config';
import { samplerOf } from './tracing.setup';

describe('samplerOf', () => {
  it.each([
    ['always_on', 'AlwaysOnSampler'],
    ['always_off', 'AlwaysOffSampler'],
    ['traceidratio', 'TraceIdRatioBased{0.25}'],
    ['parentbased_always_on', 'ParentBased{root=AlwaysOnSampler'],
    ['parentbased_always_off', 'ParentBased{root=AlwaysOffSampler'],
    ['parentbased_traceidratio', 'ParentBased{root=TraceIdRatioBased{0.25}'],
  ] as const)('%s is the specification’s sampler of that name', (name, described) => {
    expect(samplerOf(name, 0.25).toString()).toContain(described);
  });

  it('knows every name the configuration accepts', () => {
    for (const name of TRACES_SAMPLERS) expect(samplerOf(name, 1)).toBeDefined();
  });
});
