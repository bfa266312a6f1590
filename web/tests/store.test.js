// Display choices are remembered, and whatever storage holds is checked before it is used.

import test from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PREFS, loadPrefs } from '../static/store.js';

const storage = (text) => ({ getItem: () => text });

test('relative numbers, no link housekeeping and no layers overlay by default', () => {
  assert.deepEqual(loadPrefs(storage(null)), { numbers: 'relative', control: false, layers: false });
  assert.deepEqual(loadPrefs(null), DEFAULT_PREFS);
});

test('saved choices come back; nonsense does not', () => {
  assert.deepEqual(loadPrefs(storage('{"numbers":"absolute","control":true}')), { numbers: 'absolute', control: true, layers: false });
  assert.deepEqual(loadPrefs(storage('{"layers":true}')), { ...DEFAULT_PREFS, layers: true });
  assert.deepEqual(loadPrefs(storage('{"numbers":"hex","control":"yes","layers":1}')), DEFAULT_PREFS);
  assert.deepEqual(loadPrefs(storage('not json')), DEFAULT_PREFS);
  assert.deepEqual(loadPrefs({ getItem: () => { throw new Error('denied'); } }), DEFAULT_PREFS);
});
