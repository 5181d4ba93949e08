/**
 * The TypeScript side of the contract agrees with schema/profile.schema.json.
 */
import { parseProfile } from '../profile';
import { TIME_KINDS } from '../view';
import { loadFixture, loadSchema } from './fixtures';

describe('profile contract', () => {
  it('reads only line fields the schema requires', () => {
    const required: string[] = loadSchema().$defs.line.required;
    for (const kind of TIME_KINDS) {
      expect(required).toContain(kind.key);
    }
    expect(required).toEqual(expect.arrayContaining(['line', 'lineno']));
  });

  it('accepts every saved profile', () => {
    for (const name of ['mixed', 'error', 'markup', 'scrun', 'memory', 'long', 'gpu']) {
      expect(() => parseProfile(loadFixture(name))).not.toThrow();
    }
  });
});
