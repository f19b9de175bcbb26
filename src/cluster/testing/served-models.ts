import { LifecycleState } from '../../common/lifecycle/lifecycle.state';
import { parseModelReference } from '../../common/model-reference';
import { ModelRegistry } from '../../models/model-registry.service';
import { ModelView } from '../../models/model-view';
import { ServedModel } from '../cluster.types';

/** What one instance serves, as its registry's views say. */
export class FakeRegistry implements Pick<ModelRegistry, 'list'> {
  served: ServedModel[] = [];

  list(): readonly ModelView[] {
    return this.served.map((m) => {
      const ref = parseModelReference(m.reference);
      return { key: m.reference, ref, name: ref.name, pinned: true, challenger: false, ...m };
    });
  }
}

export class FakeLifecycle implements Pick<LifecycleState, 'draining'> {
  draining = false;
}
