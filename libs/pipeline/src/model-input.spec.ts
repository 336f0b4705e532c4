import { modelInput, rawImage } from './model-input';

describe('modelInput', () => {
  it('takes text from the payload', () => expect(modelInput('text', { text: 'hi' })).toBe('hi'));

  it('turns a feature array into named columns and keeps records, booleans as 0/1', () => {
    expect(modelInput('tabular', { features: [1.5, true, 'x'] })).toEqual({ f0: 1.5, f1: 1, f2: 'x' });
    expect(modelInput('tabular', { features: { age: 3, ok: false, city: null } })).toEqual({
      age: 3,
      ok: 0,
      city: null,
    });
  });

  it('takes an image from stored bytes, else from its pixels', () => {
    const bytes = new Uint8Array([1, 2]);
    expect(modelInput('image', null, bytes)).toBe(bytes);
    expect(modelInput('image', { pixels: [0, 1, 2, 3], width: null, height: null })).toEqual({
      data: [0, 1, 2, 3],
      width: 2,
      height: 2,
      channels: 1,
    });
  });

  it('rejects a payload of the wrong kind', () => {
    expect(() => modelInput('tabular', { text: 'hi' })).toThrow(/features/);
    expect(() => modelInput('image', { text: 'hi' })).toThrow(/pixels/);
  });
});

describe('rawImage', () => {
  it('infers the channels from width and height, else a square gray image', () => {
    expect(rawImage(new Array(2 * 3 * 3).fill(0), 2, 3)).toMatchObject({ width: 2, height: 3, channels: 3 });
    expect(rawImage(new Array(6).fill(0), 3)).toMatchObject({ width: 3, height: 2, channels: 1 });
    expect(rawImage(new Array(9).fill(0))).toMatchObject({ width: 3, height: 3, channels: 1 });
  });

  it('rejects a length that fits no image', () => {
    expect(() => rawImage(new Array(10).fill(0))).toThrow(/10 pixels/);
    expect(() => rawImage(new Array(8).fill(0), 2, 2)).toThrow(/2x2/);
  });
});
