/**
 * The HTTP ceiling for bench/run.sh: a bare Fastify server that parses the
 * JSON body and answers `{"predictions": [0, …]}` with one zero per row of a
 * dataframe_split body (so it passes the same answer check as the real
 * targets and sends a comparably sized answer), without any model.
 *
 *   node bare-fastify.js PORT
 */
import fastify from 'fastify';

interface ScoringBody {
  dataframe_split?: { data?: unknown };
}

async function main(): Promise<void> {
  const port = Number(process.argv[2]);
  if (!Number.isInteger(port) || port <= 0) {
    throw new Error('usage: bare-fastify.js PORT');
  }
  // 100-row bodies are ~5 KB; leave room for larger experiments.
  const app = fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
  app.get('/ping', () => '\n');
  app.post('/invocations', (request) => {
    const data = (request.body as ScoringBody | null)?.dataframe_split?.data;
    const rows = Array.isArray(data) ? data.length : 1;
    return { predictions: new Array<number>(rows).fill(0) };
  });
  await app.listen({ host: '127.0.0.1', port });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
