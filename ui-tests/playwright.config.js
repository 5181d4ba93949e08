/**
 * Galata configuration: a real JupyterLab from the project's .venv, driven in
 * Debian's Chromium (never a downloaded browser).
 */
const baseConfig = require("@jupyterlab/galata/lib/playwright-config");

const chromium =
  process.env.SCALENE_LAB_CHROMIUM || "/usr/lib/chromium/chromium";

module.exports = {
  ...baseConfig,
  timeout: 120000,
  retries: process.env.CI ? 1 : 0,
  workers: 1,
  reporter: [["list"]],
  use: {
    ...baseConfig.use,
    video: "off",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: chromium,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  webServer: {
    command: "bash ./start-jupyterlab.sh",
    url: "http://localhost:8888/lab",
    timeout: 120000,
    reuseExistingServer: false,
  },
};
