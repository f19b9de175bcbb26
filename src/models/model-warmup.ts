import { LoadedModel } from './loaded-model';

/**
 * Runs a freshly loaded model once before it takes traffic. The inference
 * module provides it (it knows how to turn the model's input example into
 * feeds) through ModelLoader.useWarmup; the models module only calls it.
 */
export interface ModelWarmup {
  warmUp(model: LoadedModel): Promise<void>;
}
