import { chiSquareSurvival } from './distributions';
import type { ChiSquareResult, SrmTestInput, SrmTestResult } from './types';
import { fail, requireArray, requireCount, requireObject, requirePositive } from './validate';

/** p-value below which srmTest reports a sample ratio mismatch. */
export const SRM_P_VALUE_THRESHOLD = 0.001;

/**
 * Sample ratio mismatch: Pearson chi-square goodness of fit of the assigned counts against
 * the configured weights. χ² = Σ (Oᵢ − Eᵢ)²/Eᵢ with Eᵢ = N·wᵢ/Σw, k − 1 degrees of freedom;
 * mismatch when p < 0.001. With nobody assigned yet (N = 0) the result is χ² = 0, p = 1.
 */
export function srmTest(input: SrmTestInput): SrmTestResult {
  const args = requireObject(input, 'input');
  const observed = requireArray(args.observed, 'observed').map((v, i) => requireCount(v, `observed[${i}]`));
  const weights = requireArray(args.weights, 'weights').map((v, i) => requirePositive(v, `weights[${i}]`));
  if (observed.length < 2) fail('observed must have at least 2 variants');
  if (weights.length !== observed.length) fail('weights must have the same length as observed');

  const degreesOfFreedom = observed.length - 1;
  const total = observed.reduce((a, b) => a + b, 0);
  const weightSum = weights.reduce((a, b) => a + b, 0);
  if (total === 0) return { chiSquare: 0, degreesOfFreedom, pValue: 1, mismatch: false };
  let chiSquare = 0;
  for (let i = 0; i < observed.length; i++) {
    const expected = (total * weights[i]) / weightSum;
    const diff = observed[i] - expected;
    chiSquare += (diff * diff) / expected;
  }
  const pValue = chiSquareSurvival(chiSquare, degreesOfFreedom);
  return { chiSquare, degreesOfFreedom, pValue, mismatch: pValue < SRM_P_VALUE_THRESHOLD };
}

/**
 * Pearson chi-square test of independence on an r × c contingency table (no Yates correction).
 * χ² = Σ (Oᵢⱼ − Eᵢⱼ)²/Eᵢⱼ with Eᵢⱼ = rowᵢ·colⱼ/N, (r − 1)(c − 1) degrees of freedom.
 * Used to warn when survey response rates differ between variants (rows = variants,
 * columns = [responders, non-responders]). A table with a zero row or column total is
 * degenerate: the result is χ² = 0, p = 1 (never NaN).
 */
export function chiSquareIndependence(table: number[][]): ChiSquareResult {
  const rows = requireArray(table, 'table');
  if (rows.length < 2) fail('table must have at least 2 rows');
  const cells = rows.map((row, i) =>
    requireArray(row, `table[${i}]`).map((v, j) => requireCount(v, `table[${i}][${j}]`)),
  );
  const columns = cells[0].length;
  if (columns < 2) fail('table[0] must have at least 2 columns');
  cells.forEach((row, i) => {
    if (row.length !== columns) fail(`table[${i}] must have ${columns} columns like table[0]`);
  });

  const degreesOfFreedom = (cells.length - 1) * (columns - 1);
  const rowTotals = cells.map((row) => row.reduce((a, b) => a + b, 0));
  const columnTotals = Array.from({ length: columns }, (_, j) => cells.reduce((a, row) => a + row[j], 0));
  const total = rowTotals.reduce((a, b) => a + b, 0);
  if (rowTotals.some((t) => t === 0) || columnTotals.some((t) => t === 0)) {
    return { chiSquare: 0, degreesOfFreedom, pValue: 1 };
  }
  let chiSquare = 0;
  for (let i = 0; i < cells.length; i++) {
    for (let j = 0; j < columns; j++) {
      const expected = (rowTotals[i] * columnTotals[j]) / total;
      const diff = cells[i][j] - expected;
      chiSquare += (diff * diff) / expected;
    }
  }
  return { chiSquare, degreesOfFreedom, pValue: chiSquareSurvival(chiSquare, degreesOfFreedom) };
}
