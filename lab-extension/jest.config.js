/**
 * jest: the renderer's DOM in jsdom, fed with real profiles saved by
 * dev/make-fixtures.py. JupyterLab's and Lumino's packages ship ES modules;
 * the few a test imports (an output model) are compiled to CommonJS.
 */
module.exports = {
  testEnvironment: 'jsdom',
  roots: ['<rootDir>/src'],
  testRegex: '__tests__/.*\\.spec\\.ts$',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
    '^.+\\.js$': [
      'ts-jest',
      { tsconfig: { allowJs: true, module: 'commonjs', target: 'es2019', isolatedModules: true } }
    ]
  },
  transformIgnorePatterns: ['/node_modules/(?!(@jupyterlab|@lumino)/)'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  setupFiles: ['<rootDir>/jest.setup.js']
};
