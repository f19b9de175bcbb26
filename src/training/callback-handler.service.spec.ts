import { ModelRegistry, ReloadOutcome } from '../models/model-registry.service';
import { AirflowCallbackDto } from './airflow-callback.dto';
import { CallbackHandler } from './callback-handler.service';

class FakeRegistry implements Pick<ModelRegistry, 'reloadModel'> {
  calls: { name: string; trigger: string }[] = [];
  failNext = false;
  private release?: () => void;
  gate?: Promise<void>;

  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }

  open(): void {
    this.release?.();
  }

  async reloadModel(name: string, trigger: string): Promise<ReloadOutcome[]> {
    this.calls.push({ name, trigger });
    await this.gate;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('registry unreachable');
    }
    return [{ reference: `${name}@champion`, status: 'swapped', from: '1', to: '2' }];
  }
}

function callback(overrides: Partial<AirflowCallbackDto> = {}): AirflowCallbackDto {
  return {
    event: 'model_version_ready',
    dag_id: 'modelgate_retrain',
    dag_run_id: 'manual__1',
    model_name: 'iris',
    version: '2',
    alias: 'champion',
    promoted: true,
    ...overrides,
  };
}

describe(CallbackHandler.name, () => {
  let registry: FakeRegistry;
  let sut: CallbackHandler;

  beforeEach(() => {
    registry = new FakeRegistry();
    sut = new CallbackHandler(registry as unknown as ModelRegistry);
  });

  it('reloads the named model and reports the outcome', async () => {
    const result = await sut.handle(callback());

    expect(registry.calls).toEqual([{ name: 'iris', trigger: 'airflow callback manual__1' }]);
    expect(result).toEqual({
      accepted: true,
      duplicate: false,
      outcomes: [expect.objectContaining({ status: 'swapped' })],
    });
  });

  it('reloads once for the same callback twice, and says the second was a duplicate', async () => {
    await sut.handle(callback());
    const second = await sut.handle(callback());

    expect(registry.calls).toHaveLength(1);
    expect(second.duplicate).toBe(true);
    expect(second.outcomes).toEqual([expect.objectContaining({ status: 'swapped' })]);
  });

  it('reloads once when the same callback arrives again while the first is still reloading', async () => {
    registry.hold();
    const first = sut.handle(callback());
    const second = sut.handle(callback());
    registry.open();

    const results = await Promise.all([first, second]);

    expect(registry.calls).toHaveLength(1);
    expect(results.map((r) => r.duplicate).sort()).toEqual([false, true]);
  });

  it('treats another run or another version as a new callback', async () => {
    await sut.handle(callback());
    await sut.handle(callback({ dag_run_id: 'manual__2' }));
    await sut.handle(callback({ version: '3' }));

    expect(registry.calls).toHaveLength(3);
  });

  it('forgets a callback whose reload failed, so Airflow’s retry is acted on', async () => {
    registry.failNext = true;
    await expect(sut.handle(callback())).rejects.toThrow('registry unreachable');

    const retry = await sut.handle(callback());

    expect(retry.duplicate).toBe(false);
    expect(registry.calls).toHaveLength(2);
  });
});
