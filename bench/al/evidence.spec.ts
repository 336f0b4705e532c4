import { chooseDefault } from './evidence';

describe('chooseDefault', () => {
  const result = (
    dataset: string,
    ratios: Record<string, number | null>,
    gaps: Record<string, number | null>,
  ) => ({ dataset, label_ratio_vs_random: ratios, min_gap_vs_random_after_200_labels: gaps });

  it('picks the best mean label ratio among strategies that never dip more than 1 point below random', () => {
    const { strategies, choice } = chooseDefault([
      result(
        'a',
        { random: 1, margin: 0.3, 'margin+diversity': 0.4 },
        { margin: -0.025, 'margin+diversity': 0 },
      ),
      result(
        'b',
        { random: 1, margin: 0.3, 'margin+diversity': 0.5 },
        { margin: 0, 'margin+diversity': -0.01 },
      ),
    ]);
    expect(choice).toBe('margin+diversity');
    expect(strategies.margin).toEqual({
      mean_label_ratio: 0.3,
      worst_gap_vs_random: -0.025,
      keeps_up_with_random: false,
    });
    expect(strategies['margin+diversity'].mean_label_ratio).toBe(0.45);
  });

  it('leaves out a strategy missing on a dataset or never reaching random there', () => {
    const { strategies, choice } = chooseDefault([
      result('a', { random: 1, margin: 0.3, bald: null }, { margin: 0, bald: 0 }),
      result('b', { random: 1, entropy: 0.2 }, { entropy: 0 }),
    ]);
    expect(strategies.bald.mean_label_ratio).toBeNull();
    expect(strategies.margin.mean_label_ratio).toBeNull();
    expect(choice).toBeNull();
  });

  it('does not judge the dip on datasets whose budget never passes 200 labels', () => {
    const { choice } = chooseDefault([result('small', { random: 1, margin: 0.6 }, { margin: null })]);
    expect(choice).toBe('margin');
  });
});
