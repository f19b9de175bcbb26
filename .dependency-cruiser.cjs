/**
 * The dependency rule (`npm run lint:deps`, part of `npm run lint`): arrows in
 * src/ point one way, as DESIGN.md draws them,
 *
 *   protocol adapters → inference → models → clients → common/, config/
 *
 * Every import must match one `allowed` rule below; anything else is an error.
 * Each folder has a rank; a file may import its own folder and any folder of a
 * lower rank, never a higher one nor another folder of the same rank:
 *
 *   9  composition root: main.ts, app.module.ts, app.setup.ts, app.error-map.ts, doctor*.ts,
 *      openapi/ (the document gathers every feature's schemas)
 *   8  workers/ (the primary of API_WORKERS > 1: supervises the worker
 *      processes, holds the host's state store, aggregates their metrics)
 *   8  protocol adapters: *.controller.ts, and the Fastify hooks and filters
 *      (*.hook.ts, *.filter.ts, *.guard.ts) wherever they live; grpc/ (Open
 *      Inference over gRPC: its own server, same inference, auth and metrics)
 *   7  training/, status/       (drive and show the layers below)
 *   6  inference/, health/      (inference asks health only from its adapters)
 *   5  metrics/                 (observes models; inference must not be below it)
 *   5  rollback/                (watches promotions and rolls them back: over
 *                                models/, mlflow/, cluster/; hears of swaps and
 *                                predictions through events; only the root imports it)
 *   4  cluster/                 (heartbeats, the reload broadcast and the refresh
 *                                job's lease read the registry; models/ hears of
 *                                the cluster only through events)
 *   3  models/
 *   2  mlflow/, airflow/        (clients of MLflow and Airflow)
 *   1  auth/
 *   0  common/, config/         (import no feature folder; each other: yes)
 *
 * Exceptions, each for a reason given where it is written: Nest module
 * wiring, specs and testing/ fakes. Besides: no cycles anywhere, no orphans
 * but the entry points, and every package imported is declared in
 * package.json (devDependencies only from specs and testing/).
 */

const RANKS = {
  // Protocol adapter as the controllers are: Open Inference over gRPC on its
  // own listener, over inference/, health/, metrics/, models/, auth/.
  grpc: 8,
  // The primary process of API_WORKERS > 1: over cluster/ (the store it
  // holds), metrics/ (the registry it aggregates into), config/, common/.
  workers: 8,
  training: 7,
  status: 7,
  inference: 6,
  health: 6,
  metrics: 5,
  rollback: 5,
  cluster: 4,
  models: 3,
  mlflow: 2,
  airflow: 2,
  auth: 1,
  common: 0,
  config: 0,
};

const ROOT =
  '^src/((main|app\\.module|app\\.setup|app\\.error-map|doctor|doctor-webhook)\\.ts|openapi/[^/]+\\.ts)$';
const ADAPTER = '^src/.+\\.(controller|hook|filter|guard)\\.ts$';
/** Specs, and the fakes under any testing/ folder, which only specs import. */
const TEST_CODE = '(\\.spec\\.ts$|/testing/)';
const folders = (rank, compare) =>
  Object.keys(RANKS).filter((folder) => compare(RANKS[folder], rank));
const under = (names) => `^src/(${names.join('|')})/`;

/** Same-rank folders other than one's own are not below it, so they are not allowed. */
const byRank = Object.keys(RANKS)
  .map((folder) => ({ folder, lower: folders(RANKS[folder], (r, mine) => r < mine) }))
  .filter(({ lower }) => lower.length > 0)
  .map(({ folder, lower }) => ({
    comment: `${folder}/ (rank ${RANKS[folder]}) may import ${lower.join(', ')}`,
    from: { path: `^src/${folder}/` },
    to: { path: under(lower) },
  }));

module.exports = {
  allowed: [
    {
      comment: 'Packages and Node built-ins (whether declared is checked in `forbidden`)',
      from: {},
      to: { dependencyTypesNot: ['local', 'localmodule', 'aliased'] },
    },
    {
      comment: 'Within a folder (its sub-folders included)',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/$1/' },
    },
    {
      comment: 'common/ and config/ may use each other (no cycles, as everywhere)',
      from: { path: under(['common', 'config']) },
      to: { path: under(['common', 'config']) },
    },
    ...byRank,
    {
      comment:
        'The composition root wires everything: AppModule imports every feature module, ' +
        'main.ts and app.setup.ts register every hook, doctor.ts runs every check',
      from: { path: ROOT },
      to: { path: '^src/' },
    },
    {
      comment: 'Protocol adapters translate for the layers below: anything but the root',
      from: { path: ADAPTER },
      to: { path: '^src/', pathNot: ROOT },
    },
    {
      comment:
        "Nest module wiring: a feature module imports the modules its adapters' " +
        'dependencies come from (e.g. InferenceModule → HealthModule for LifecycleState). ' +
        'Module to module only; what a module declares itself follows its rank.',
      from: { path: '\\.module\\.ts$' },
      to: { path: '\\.module\\.ts$', pathNot: ROOT },
    },
    {
      comment: 'Specs and testing/ fakes may import what they test, and each other',
      from: { path: TEST_CODE },
      to: { path: '^src/' },
    },
  ],
  allowedSeverity: 'error',

  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No cycles anywhere in src/, type-only imports included',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A file nothing imports is dead code, unless it is an entry point',
      from: {
        orphan: true,
        pathNot: [
          '^src/(main|doctor)\\.ts$', // node dist/main.js, node dist/doctor.js
          TEST_CODE, // jest finds specs by name
          '\\.d\\.ts$',
        ],
      },
      to: {},
    },
    {
      name: 'no-non-package-json',
      severity: 'error',
      comment:
        'Every package imported is declared in package.json (not merely installed as ' +
        "someone else's dependency)",
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-dev-dep',
      severity: 'error',
      comment: 'Production code imports no devDependency (the image installs none)',
      from: { path: '^src/', pathNot: TEST_CODE },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'Every import resolves',
      from: {},
      to: { couldNotResolve: true },
    },
  ],

  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    // Type-only imports are dependencies too: a cycle through types is still a cycle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
