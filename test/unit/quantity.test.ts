import { describe, expect, it } from 'vitest';
import { compareQuantities, parseQuantity, quantityValue } from '../../src/formats/quantity.ts';

// Verdicts of apimachinery's resource.ParseQuantity (v0.37), odd corners included.
const valid = [
  '0',
  '8',
  '500m',
  '1.5Gi',
  '48Gi',
  '1e3',
  '1E',
  '+1',
  '-1',
  '.5',
  '1.',
  '1.G',
  'Ki',
  '-',
  '.',
];
const invalid = [
  '',
  '5xx',
  '1.2.3',
  '1e',
  '1e+',
  '1+5',
  '1Kie5',
  'Pi',
  'e-10',
  ' 1',
  '1 ',
  '1KiB',
  '0x10',
];

describe('Kubernetes quantities (the CEL quantity library for the operator)', () => {
  it.each(valid)('parses %j', (text) => {
    expect(parseQuantity(text)).toBeDefined();
  });

  it.each(invalid)('rejects %j', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });

  it.each([
    ['1Gi', '1024Mi', 0],
    ['2', '2000m', 0],
    ['1G', '1Gi', -1],
    ['0.1n', '1n', 0], // Go rounds sub-nano amounts up to 1n
    ['1.5Gi', '1610612736', 0],
    ['1e3', '1k', 0],
    ['-1', '0', -1],
    ['-2Gi', '-1Gi', -1],
    ['1e999999', '1E', 1], // exact without a 10^999999 BigInt
    ['100Ei', '9223372036854775807', 0], // binary SI amounts cap at 2^63 - 1
    ['16Gi', '24Gi', -1],
  ] as const)('compares %s with %s: %i', (a, b, want) => {
    expect(compareQuantities(parseQuantity(a)!, parseQuantity(b)!)).toBe(want);
  });
});

describe("quantities as numbers (the local fleet's downward API)", () => {
  it.each([
    { name: 'millicores', text: '500m', want: 0.5 },
    { name: 'a plain integer', text: '2', want: 2 },
    { name: 'binary SI', text: '24Gi', want: 24 * 2 ** 30 },
    { name: 'decimal SI', text: '1k', want: 1000 },
    { name: 'an exponent', text: '1e3', want: 1000 },
    { name: 'a fraction of a binary unit, exactly', text: '1.5Mi', want: 1.5 * 2 ** 20 },
    { name: 'negative', text: '-250m', want: -0.25 },
    { name: 'below a nano, rounded up as Go does', text: '0.1n', want: 1e-9 },
  ])('$name: $text is $want', ({ text, want }) => {
    expect(quantityValue(text)).toBe(want);
  });

  it.each(['lots', '', ' 1'])('refuses %j, naming it', (text) => {
    expect(() => quantityValue(text)).toThrow(`"${text}" is not a resource quantity`);
  });
});
