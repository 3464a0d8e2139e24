// A CommonJS Jest project: no --experimental-vm-modules, berth-ports/jest is required as CommonJS.
module.exports = {
  // Leases the services of berth.config.json (its `test` environment) for the run and starts
  // the api; the ports reach the tests as BERTH_PORTS / BERTH_URLS and API_PORT / API_URL.
  globalSetup: 'berth-ports/jest/setup',
  // Stops the api and releases every lease of the run, the workers' included.
  globalTeardown: 'berth-ports/jest/teardown',
  testMatch: ['<rootDir>/test/**/*.test.cjs'],
  transform: {},
  maxWorkers: 3,
};
