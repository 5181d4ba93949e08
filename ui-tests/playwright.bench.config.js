/**
 * The browser benchmark (`npm run bench -- --browser`): the Galata set-up of
 * the ui-tests, but the files in bench/, run once, never retried.
 */
const base = require("./playwright.config");

module.exports = {
  ...base,
  testDir: "bench",
  testMatch: "*.bench.ts",
  retries: 0,
  timeout: 900000,
};
