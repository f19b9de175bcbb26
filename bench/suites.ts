/**
 * What bench/report.ts needs to know of each suite of bench/run.sh: its
 * targets in report order, the baseline every target's req/s is divided by,
 * and any further ratios worth printing.
 */
export const SUITE_NAMES = ['serving', 'flavors', 'protocols'] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];

export interface Suite {
  name: SuiteName;
  /** What one request is, for the report's first line. */
  requests: string;
  targets: string[];
  /** Measured in the same run; each target's req/s is given as a multiple of its. */
  baseline: string;
  /** [a, b]: a's req/s / b's, printed besides every target's against the baseline. */
  ratios: [string, string][];
}

export const SUITES: Record<SuiteName, Suite> = {
  serving: {
    name: 'serving',
    requests: 'POST /invocations with dataframe_split bodies (iris demo model)',
    targets: ['ours', 'ours-key', 'mlflow-serve', 'bare-fastify'],
    baseline: 'mlflow-serve',
    ratios: [
      // The cost of authentication on the hot path: the same load with an API key vs API_AUTH=off.
      ['ours-key', 'ours'],
      ['ours', 'bare-fastify'],
      ['mlflow-serve', 'bare-fastify'],
    ],
  },
  flavors: {
    name: 'flavors',
    requests:
      'POST /invocations with dataframe_split bodies (the sklearn forest: 100 trees, 30 features)',
    targets: ['mg-pyfunc-1', 'mg-pyfunc-2', 'mg-onnx', 'mlflow-serve', 'mlserver'],
    baseline: 'mlflow-serve',
    ratios: [
      ['mg-pyfunc-2', 'mg-pyfunc-1'],
      ['mg-onnx', 'mg-pyfunc-1'],
    ],
  },
  protocols: {
    name: 'protocols',
    requests:
      'Open Inference infer, one FP32 input [rows, 30] (the forest converted to ONNX), on one Modelgate',
    targets: ['rest-json', 'rest-binary', 'grpc'],
    baseline: 'rest-json',
    ratios: [['grpc', 'rest-binary']],
  },
};

export function suiteNamed(name: string): Suite {
  if (!(SUITE_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown suite '${name}' (${SUITE_NAMES.join(', ')})`);
  }
  return SUITES[name as SuiteName];
}
