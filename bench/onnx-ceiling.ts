/**
 * The ceiling of the cores suite (issue 15): the smallest honest model server,
 * Fastify + onnxruntime-node in one process. It parses the same JSON as every
 * other target (MLflow `dataframe_split`), binds the rows by position into one
 * float32 tensor [rows, columns], runs the same ONNX file, and answers every
 * output as MLflow answers a tensor-signature model
 * (`{"predictions": {"label": [...], "probabilities": [[...], ...]}}`), so it
 * passes the same answer check and sends a comparable answer. No auth, no
 * metrics, no logging, no signature check: what the rest of a model server
 * costs is what the ratios against it measure.
 *
 *   node onnx-ceiling.js PORT MODEL.onnx [INTRA_OP_THREADS [SPINNING]]
 *
 * Session options are onnxruntime's defaults, as the 20-line server of the
 * issue has them (threads: one per core; idle threads spinning), unless
 * INTRA_OP_THREADS > 0 or SPINNING (0 or 1) is given: the suite pins both
 * sides to one setting when asked (BENCH_ONNX_THREADS, BENCH_ONNX_SPINNING).
 */
import fastify from 'fastify';
import * as ort from 'onnxruntime-node';

interface ScoringBody {
  dataframe_split?: { data?: unknown };
}

/** A tensor's data as nested arrays along its dims (int64 as numbers, as MLflow writes them). */
function nested(tensor: ort.Tensor): unknown {
  const data = tensor.data as ArrayLike<number | bigint>;
  const dims = tensor.dims;
  const at = (i: number) => (typeof data[i] === 'bigint' ? Number(data[i]) : data[i]);
  const build = (dim: number, offset: number): unknown => {
    if (dim === dims.length) return at(offset);
    const stride = dims.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: dims[dim] }, (_, k) => build(dim + 1, offset + k * stride));
  };
  return build(0, 0);
}

async function main(): Promise<void> {
  const [portArg, modelPath, threadsArg, spinningArg] = process.argv.slice(2);
  const port = Number(portArg);
  if (!Number.isInteger(port) || port <= 0 || !modelPath) {
    throw new Error('usage: onnx-ceiling.js PORT MODEL.onnx [INTRA_OP_THREADS [SPINNING]]');
  }
  const threads = Number(threadsArg ?? 0);
  const session = await ort.InferenceSession.create(modelPath, {
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
    ...(spinningArg === '0' || spinningArg === '1'
      ? { extra: { session: { intra_op: { allow_spinning: spinningArg } } } }
      : {}),
  });
  const [input] = session.inputNames;
  const app = fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
  app.get('/ping', () => '\n');
  app.post('/invocations', async (request, reply) => {
    const data = (request.body as ScoringBody | null)?.dataframe_split?.data;
    if (!Array.isArray(data) || data.length === 0 || !Array.isArray(data[0])) {
      return reply
        .code(400)
        .send({ error_code: 'BAD_REQUEST', message: 'no dataframe_split.data' });
    }
    const rows = data as number[][];
    const width = rows[0].length;
    const values = new Float32Array(rows.length * width);
    for (let r = 0; r < rows.length; r++) {
      for (let c = 0; c < width; c++) values[r * width + c] = rows[r][c];
    }
    const outputs = await session.run({
      [input]: new ort.Tensor('float32', values, [rows.length, width]),
    });
    const predictions: Record<string, unknown> = {};
    for (const name of session.outputNames) predictions[name] = nested(outputs[name]);
    return { predictions };
  });
  await app.listen({ host: '127.0.0.1', port });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
