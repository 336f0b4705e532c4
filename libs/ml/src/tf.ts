/**
 * The one place that imports TensorFlow.js, so every module shares one engine and one
 * registered backend (the native and WebGPU packages register into this same engine).
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
