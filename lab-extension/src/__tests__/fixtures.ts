/**
 * Loads the profiles that dev/make-fixtures.py saved from a real kernel
 * (for jest here, and for the Galata tests and the browser benchmark).
 */
import * as fs from 'fs';
import * as path from 'path';

/** Directory of the saved profiles. */
export const FIXTURES = path.join(__dirname, '..', '..', 'test-fixtures');

/** A saved profile, parsed from JSON (a fresh copy each call). */
export function loadFixture(name: string): any {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'));
}

/** The repository's profile JSON Schema. */
export function loadSchema(): any {
  const file = path.join(__dirname, '..', '..', '..', 'schema', 'profile.schema.json');
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** `value` with every object's keys sorted, as Python's nbformat saves a notebook. */
export function sortKeys(value: any): any {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map(key => [key, sortKeys(value[key])])
    );
  }
  return value;
}
