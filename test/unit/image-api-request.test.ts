/**
 * parseGenerationRequest keeps one built schema per distinct limits (request.ts schemaFor): each
 * call must still be judged by the limits it passes, whatever was parsed before. The steps run
 * in order against the module's one cache.
 */
import { describe, expect, it } from 'vitest';
import { parseGenerationRequest, type RequestLimits } from '../../src/image-api/request.ts';

const request = { prompt: 'a red fox in snow', size: '1024x1024', n: 2 };
const limits = (side: number, maxImages: number): RequestLimits => ({
  maxResolution: { width: side, height: side },
  maxImages,
});
// Limits of a value no other step uses, so that this object is the one its schema was built from.
const changedInPlace = limits(1024, 3);

const steps: { name: string; limits: () => RequestLimits; refused?: 'size' | 'n' }[] = [
  { name: '1024x1024, up to 4 images: accepted', limits: () => limits(1024, 4) },
  { name: 'the same limits again: accepted', limits: () => limits(1024, 4) },
  { name: 'a smaller maximum: size refused', limits: () => limits(512, 4), refused: 'size' },
  { name: 'one image at most: n refused', limits: () => limits(1024, 1), refused: 'n' },
  { name: 'limits a caller will change in place: accepted', limits: () => changedInPlace },
  {
    name: 'the same object, its maximum now 512: size refused',
    limits: () => {
      changedInPlace.maxResolution = { width: 512, height: 512 };
      return changedInPlace;
    },
    refused: 'size',
  },
  { name: 'fresh limits of its first value: accepted', limits: () => limits(1024, 3) },
];

describe('parseGenerationRequest with changing limits', () => {
  it('judges every call by its own limits', () => {
    const seen = steps.map(({ name, limits: current }) => {
      try {
        parseGenerationRequest(request, current());
        return { name, outcome: 'accepted' };
      } catch (err) {
        // Messages start with the field they are about (request.ts toApiError).
        return { name, outcome: `refused: ${(err as Error).message.split(':')[0]}` };
      }
    });
    expect(seen).toEqual(
      steps.map(({ name, refused }) => ({
        name,
        outcome: refused ? `refused: ${refused}` : 'accepted',
      })),
    );
  });
});
