import {
  GenericContainer,
  Network,
  StartedNetwork,
  StartedTestContainer,
  Wait,
} from 'testcontainers';
import { readImages, useLocalContainerEngine } from './images';

/**
 * An MLflow and an Airflow on one network of their own, wired for the real
 * retraining DAG: Airflow reaches MLflow as `mlflow`, and the API under test
 * through host.containers.internal on `apiPort`, so that API must listen on
 * all interfaces there. The shared stack's Airflow has neither setting (its
 * runs cannot train nor call back), hence a stack of its own.
 */
export interface TrainingStack {
  /** MLflow as the test and the API reach it (loopback). */
  mlflowUrl: string;
  airflowUrl: string;
  stop(): Promise<void>;
}

export interface TrainingStackOptions {
  /** The port the API under test listens on, on all interfaces. */
  apiPort: number;
  /** API_CALLBACK_TOKEN, shared with the API. */
  callbackToken: string;
}

export async function startTrainingStack(options: TrainingStackOptions): Promise<TrainingStack> {
  useLocalContainerEngine();
  const images = readImages();
  const network: StartedNetwork = await new Network().start();
  const started = await Promise.allSettled([
    new GenericContainer(images.mlflow)
      .withNetwork(network)
      .withNetworkAliases('mlflow')
      .withExposedPorts(5000)
      .withEnvironment({
        MLFLOW_WORKERS: '1',
        // Airflow calls it `mlflow`; the test and the API call it by loopback.
        MLFLOW_SERVER_ALLOWED_HOSTS: 'mlflow,mlflow:*,localhost,localhost:*,127.0.0.1,127.0.0.1:*',
      })
      .withWaitStrategy(Wait.forHttp('/health', 5000).forStatusCode(200))
      .withStartupTimeout(240_000)
      .start(),
    new GenericContainer(images.airflow)
      .withNetwork(network)
      .withExposedPorts(8080)
      .withEnvironment({
        MLFLOW_TRACKING_URI: 'http://mlflow:5000',
        API_SERVER_URL: `http://host.containers.internal:${options.apiPort}`,
        API_CALLBACK_TOKEN: options.callbackToken,
        MODELGATE_RETRAIN_RETRY_DELAY: '2',
      })
      .withWaitStrategy(Wait.forHttp('/api/v2/monitor/health', 8080).forStatusCode(200))
      .withStartupTimeout(420_000)
      .start(),
  ]);
  const containers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => {
    await Promise.allSettled(containers.map((c) => c.stop()));
    await network.stop().catch(() => undefined);
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    // No reaper on podman: the one that did start would run until someone removed it.
    await stop();
    throw failed.reason;
  }
  const [mlflow, airflow] = containers as [StartedTestContainer, StartedTestContainer];
  return {
    mlflowUrl: `http://127.0.0.1:${mlflow.getMappedPort(5000)}`,
    airflowUrl: `http://127.0.0.1:${airflow.getMappedPort(8080)}`,
    stop,
  };
}
