// Integration tests start containers and wait for DAG runs: minutes, not the
// default 5 s. (A per-project `testTimeout` in jest.config.js is not applied.)
jest.setTimeout(300_000);
