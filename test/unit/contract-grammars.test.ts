/**
 * The grammars every app shares through src/contract: "WxH" sizes and `namespace/name` keys.
 * What each reader then allows (a multiple of 16, a maximum) is tested with the reader.
 */
import { describe, expect, it } from 'vitest';
import { keyOf, parseKey } from '../../src/contract/object-key.ts';
import { formatSize, parseSize, sizeSides } from '../../src/contract/size.ts';

describe('WxH sizes', () => {
  it.each([
    { name: 'a square', text: '1024x1024', size: { width: 1024, height: 1024 } },
    { name: 'landscape', text: '1536x768', size: { width: 1536, height: 768 } },
    { name: 'the smallest spelling', text: '1x1', size: { width: sizeSides.min, height: 1 } },
    {
      name: 'the largest spelling',
      text: '99999x99999',
      size: { width: sizeSides.max, height: sizeSides.max },
    },
  ])('reads and writes $name', ({ text, size }) => {
    expect(parseSize(text)).toEqual(size);
    expect(formatSize(size)).toBe(text);
  });

  it.each([
    { name: 'leading zeros', text: '0512x0512' },
    { name: 'a zero side', text: '0x512' },
    { name: 'six digits', text: '100000x1' },
    { name: 'a leading space', text: ' 512x512' },
    { name: 'a trailing newline', text: '512x512\n' },
    { name: 'a capital X', text: '512X512' },
    { name: 'one side only', text: '512' },
    { name: 'a sign', text: '+512x512' },
    { name: 'a fraction', text: '512.5x512' },
  ])('refuses $name', ({ text }) => {
    expect(parseSize(text)).toBeUndefined();
  });
});

describe('namespace/name keys', () => {
  it.each([
    { name: 'an object', ref: { namespace: 'ml', name: 'turbo' }, key: 'ml/turbo' },
    { name: 'dotted and dashed names', ref: { namespace: 'a-b', name: 'c.d-0' }, key: 'a-b/c.d-0' },
  ])('writes and reads $name', ({ ref, key }) => {
    expect(keyOf(ref)).toBe(key);
    expect(parseKey(key)).toEqual(ref);
  });
});
