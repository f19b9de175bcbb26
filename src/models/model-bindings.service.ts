import { Injectable } from '@nestjs/common';
import { ModelReference, formatModelReference } from '../common/model-reference';
import { LoadedModel } from './loaded-model';
import { ModelView, modelView } from './model-view';
import { ModelBinding } from './model-binding';
import { VersionVetoes } from './version-vetoes';

/** The references served, by their canonical text; readers see snapshots only. */
@Injectable()
export class ModelBindings {
  private readonly bindings = new Map<string, ModelBinding>();

  constructor(private readonly vetoes: VersionVetoes = new VersionVetoes()) {}

  /** The view of one served reference, undefined if it is not served. */
  view(key: string): ModelView | undefined {
    const binding = this.bindings.get(key);
    return binding && modelView(binding, this.vetoes.of(key));
  }

  /** The binding of `ref`, made (state `loading`) if there is none. */
  bind(ref: ModelReference, pinned: boolean): ModelBinding {
    const key = formatModelReference(ref);
    const binding: ModelBinding = this.bindings.get(key) ?? { ref, key, pinned, state: 'loading' };
    this.bindings.set(key, binding);
    return binding;
  }

  get(key: string): ModelBinding | undefined {
    return this.bindings.get(key);
  }

  remove(key: string): void {
    this.bindings.delete(key);
  }

  clear(): void {
    this.bindings.clear();
  }

  all(): ModelBinding[] {
    return [...this.bindings.values()];
  }

  /** Every binding of the registered model `name` (`iris`, `iris@champion`, `iris/3`). */
  named(name: string): ModelBinding[] {
    return this.all().filter((b) => b.ref.name === name);
  }

  /**
   * The binding a request for `ref` is answered by: its own, or for a bare
   * name (`iris`) a binding of that model that serves (MODELS order), so
   * `iris` answers from `iris@champion` rather than loading a second copy.
   */
  answering(ref: ModelReference): ModelBinding | undefined {
    const own = this.bindings.get(formatModelReference(ref));
    if (own || ref.selector.kind !== 'default') return own;
    return this.all().find(
      (b) => b.ref.name === ref.name && b.model !== undefined && !b.challenger,
    );
  }

  /** True when some binding uses `model`. */
  uses(model: LoadedModel): boolean {
    return this.all().some((b) => b.model === model);
  }

  /** True when a binding of MODELS, or a rollout's challenger, uses `model` (it must stay loaded). */
  pins(model: LoadedModel): boolean {
    return this.all().some((b) => (b.pinned || b.challenger) && b.model === model);
  }

  /** Forgets every binding served by `model` (it is being evicted). */
  unbind(model: LoadedModel): void {
    for (const binding of this.all()) {
      if (binding.model === model) this.bindings.delete(binding.key);
    }
  }

  /** Every binding as a read-only snapshot. */
  views(): readonly ModelView[] {
    return this.all().map((b) => modelView(b, this.vetoes.of(b.key)));
  }
}
