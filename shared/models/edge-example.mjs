import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const { inputs } = JSON.parse(readFileSync('manifest.json', 'utf8'));
const session = await ort.InferenceSession.create('model.onnx');
const flight = { delayRate2h: 0.31, flights2h: 42, hour: 17, weekday: 5, distance: 733, origin: 'ORD', destination: 'LGA' };
const feeds = Object.fromEntries(inputs.map(({ name, type }) => [name, type === 'string'
  ? new ort.Tensor('string', [flight[name] ?? ''], [1, 1])
  : new ort.Tensor('float32', [Number(flight[name] ?? NaN)], [1, 1])]));
const { score } = await session.run(feeds);
console.log(score.data[0]);
