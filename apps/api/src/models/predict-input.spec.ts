import { PNG } from 'pngjs';
import { ApiError } from '../common/api-error';
import { predictInputs } from './predict-input';

describe('predictInputs', () => {
  it('turns item-shaped inputs into the featurizer inputs the trainer and scorer see', () => {
    expect(predictInputs('text', [{ text: 'hello' }])).toEqual(['hello']);
    expect(predictInputs('tabular', [{ features: [1, 2] }, { features: { a: 'x', b: true } }])).toEqual([
      { f0: 1, f1: 2 },
      { a: 'x', b: 1 },
    ]);
    expect(predictInputs('image', [{ pixels: [0, 255, 0, 255] }])).toEqual([
      { data: [0, 255, 0, 255], width: 2, height: 2, channels: 1 },
    ]);
    const png = PNG.sync.write(new PNG({ width: 2, height: 2 }));
    const [bytes] = predictInputs('image', [{ imageBase64: png.toString('base64') }]);
    expect(Buffer.from(bytes as Uint8Array).equals(png)).toBe(true);
  });

  it('names every bad input by its index', () => {
    const error = (() => {
      try {
        predictInputs('text', [{ text: 'ok' }, { text: '' }, { label: 'spam', text: 'x' }, { pixels: [1] }]);
      } catch (e) {
        return e as ApiError;
      }
    })();
    expect(error).toBeInstanceOf(ApiError);
    const fields = (error!.getResponse() as { details: { field: string }[] }).details.map((d) => d.field);
    expect(fields).toContain('inputs.1.text');
    expect(fields).toContain('inputs.2.label');
    expect(fields.some((f) => f.startsWith('inputs.3'))).toBe(true);
    expect(fields.some((f) => f.startsWith('inputs.0'))).toBe(false);
    // Pixels that make no image are refused before any model runs.
    expect(() => predictInputs('image', [{ pixels: [1, 2, 3] }])).toThrow(ApiError);
  });
});
