/**
 * The rows request bodies are made of: the iris rows built in (the serving
 * suite's demo model), or a JSON file `{"columns": [...], "data": [[...], ...]}`
 * (bench/forest_model.py --dataset-out writes the forest's).
 */
import { readFileSync } from 'node:fs';

export interface Dataset {
  columns: string[];
  data: number[][];
}

/** Iris rows of all three classes, named as scripts/demo_model.py names the columns. */
export const IRIS: Dataset = {
  columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
  data: [
    [5.1, 3.5, 1.4, 0.2],
    [6.4, 3.2, 4.5, 1.5],
    [6.3, 3.3, 6.0, 2.5],
    [4.9, 3.0, 1.4, 0.2],
    [5.5, 2.3, 4.0, 1.3],
    [7.1, 3.0, 5.9, 2.1],
    [5.0, 3.6, 1.4, 0.2],
    [5.7, 2.8, 4.1, 1.3],
    [6.5, 3.0, 5.8, 2.2],
  ],
};

export function loadDataset(path: string | undefined): Dataset {
  if (path === undefined) return IRIS;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<Dataset>;
  const { columns, data } = parsed;
  if (!Array.isArray(columns) || !Array.isArray(data) || data.length === 0) {
    throw new Error(`${path}: expected {"columns": [...], "data": [[...], ...]}`);
  }
  const width = columns.length;
  if (data.some((row) => !Array.isArray(row) || row.length !== width)) {
    throw new Error(`${path}: every row must have ${width} values`);
  }
  return { columns, data };
}

/** `count` rows, cycling through the dataset's. */
export function takeRows(dataset: Dataset, count: number): number[][] {
  return Array.from({ length: count }, (_, i) => dataset.data[i % dataset.data.length]);
}

/** The rows as one row-major little-endian float32 buffer (Open Inference FP32). */
export function fp32Bytes(rows: number[][]): Buffer {
  const values = new Float32Array(rows.flat());
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}
