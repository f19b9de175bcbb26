import { Logger } from '@nestjs/common';
import { InvalidModelReferenceError } from '../common/model-reference';
import { ModelCatalog } from '../models/model-catalog.service';
import { ModelRegistry, ReloadOutcome } from '../models/model-registry.service';
import { VetoNotFoundError } from '../models/model.errors';
import { VersionVeto } from '../models/version-vetoes';
import { Batcher } from './batching/batcher.service';
import { ModelsController } from './models.controller';

const veto: VersionVeto = {
  reference: 'iris@champion',
  version: '2',
  fallback: '1',
  reason: 'error rate 1.000 (20 of 20) against 0.000 before',
  at: new Date('2026-12-03T14:00:00.000Z'),
};

/** The registry's veto list and reloads, as the lift route uses them. */
class FakeRegistry {
  readonly vetoes = new Map<string, VersionVeto>([[veto.reference, veto]]);
  readonly calls: string[] = [];

  liftVeto(reference: string, cause: string): VersionVeto | undefined {
    this.calls.push(`lift ${reference} (${cause})`);
    const found = this.vetoes.get(reference);
    this.vetoes.delete(reference);
    return found;
  }

  reload(reference: string, trigger: string): Promise<ReloadOutcome> | undefined {
    this.calls.push(`reload ${reference} (${trigger})`);
    return Promise.resolve({ reference, status: 'swapped', from: '1', to: '2' });
  }
}

describe(ModelsController.name, () => {
  let registry: FakeRegistry;
  let sut: ModelsController;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    registry = new FakeRegistry();
    sut = new ModelsController(
      {} as ModelCatalog,
      registry as unknown as ModelRegistry,
      {} as Batcher,
    );
  });

  it('lifts the veto of name@alias, then follows the alias (which tells the peers)', async () => {
    expect(await sut.liftVeto('iris', 'champion')).toEqual({
      lifted: { version: '2', fallback: '1', reason: veto.reason },
      outcome: { reference: 'iris@champion', status: 'swapped', from: '1', to: '2' },
    });
    expect(registry.calls).toEqual([
      'lift iris@champion (lifted by an operator)',
      'reload iris@champion (veto lifted)',
    ]);
  });

  it('answers 404 (VetoNotFoundError) when no veto stands, and reloads nothing', async () => {
    await expect(sut.liftVeto('iris', 'staging')).rejects.toBeInstanceOf(VetoNotFoundError);
    expect(registry.calls).toEqual(['lift iris@staging (lifted by an operator)']);
  });

  it("refuses an alias a reference cannot have as the caller's fault", async () => {
    await expect(sut.liftVeto('iris', 'champ ion')).rejects.toBeInstanceOf(
      InvalidModelReferenceError,
    );
    expect(registry.calls).toEqual([]);
  });
});
