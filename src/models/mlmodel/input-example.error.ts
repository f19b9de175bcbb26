/**
 * A model's input example that cannot be fed to its runtime: not a scoring
 * request MLflow writes, irregular lists, values or shapes the model's inputs
 * do not take. The version still loads; its warm-up says it could not run, and why.
 */
export class InputExampleError extends Error {
  constructor(message: string) {
    super(`input example: ${message}`);
    this.name = InputExampleError.name;
  }
}
