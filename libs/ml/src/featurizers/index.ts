import { ImageFeaturizer } from './image';
import { TabularFeaturizer } from './tabular';
import { TextFeaturizer } from './text';
import type {
  Featurizer,
  FeaturizerConfig,
  FeaturizerState,
  ImageInput,
  TabularInput,
  TextInput,
} from './types';

/** Fits a featurizer on training inputs (document frequencies, means, categories; images need nothing). */
export function fitFeaturizer(config: FeaturizerConfig, inputs: readonly unknown[]): Featurizer {
  switch (config.kind) {
    case 'image':
      return new ImageFeaturizer(config);
    case 'text':
      return TextFeaturizer.fit(config, inputs as TextInput[]);
    case 'tabular':
      return TabularFeaturizer.fit(config, inputs as TabularInput[]);
  }
}

/** Rebuilds a fitted featurizer from its JSON state (as stored in an artifact manifest). */
export function loadFeaturizer(state: FeaturizerState): Featurizer {
  switch (state.config.kind) {
    case 'image':
      return new ImageFeaturizer(state.config);
    case 'text':
      return TextFeaturizer.fromJSON(state as Parameters<typeof TextFeaturizer.fromJSON>[0]);
    case 'tabular':
      return TabularFeaturizer.fromJSON(state as Parameters<typeof TabularFeaturizer.fromJSON>[0]);
  }
}

export type { ImageInput, TabularInput, TextInput };
