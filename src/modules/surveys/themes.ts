// What customers of one variant say differently (pure, no I/O): the weighted log-odds ratio with an
// informative Dirichlet prior of Monroe, Colaresi and Quinn (2008), "Fightin' Words: Lexical Feature
// Selection and Evaluation for Identifying the Content of Political Conflict", Political Analysis 16(4).
// For each variant i against all the other variants together (j), and each term w (a word or a
// two-word phrase, comment-terms.ts), with y the term's count, n the group's count of all terms and α
// the prior (their equation 16 and the variance after it):
//   δ_w = log((y_w^i + α_w) / (n^i + α_0 − y_w^i − α_w)) − log((y_w^j + α_w) / (n^j + α_0 − y_w^j − α_w))
//   σ²(δ_w) ≈ 1/(y_w^i + α_w) + 1/(y_w^j + α_w),   z_w = δ_w / σ(δ_w)
// The prior is informative: α_w = α_0 · y_w / n, the term's share of all comments of the metric, scaled
// by α_0 (by default n, as much weight as the comments themselves), which shrinks rare terms towards
// "no difference" so that a word said once does not top the list.
import { commentTerms } from './comment-terms';

export interface ThemeTerm {
  term: string;
  /** z-score of the weighted log-odds ratio: above about 1.96, over-represented at the 5% level. */
  z: number;
  /** The log-odds ratio δ itself. */
  logOddsRatio: number;
  /** How often the variant's comments use the term, and all the other variants' comments. */
  count: number;
  otherCount: number;
}

export interface VariantThemes {
  variant: string;
  comments: number;
  terms: ThemeTerm[];
}

export interface ThemeOptions {
  /** Terms listed per variant (most over-represented first). */
  top?: number;
  /** A term must appear at least this often over all comments. */
  minCount?: number;
  /** α_0, the prior's total weight; by default the number of terms of all comments. */
  priorWeight?: number;
}

/** The log-odds ratio and its z-score for counts y_i of n_i against y_j of n_j, with prior α_w of α_0. */
export function weightedLogOdds(yi: number, ni: number, yj: number, nj: number, alphaW: number, alpha0: number): { delta: number; z: number } {
  const delta = Math.log((yi + alphaW) / (ni + alpha0 - yi - alphaW)) - Math.log((yj + alphaW) / (nj + alpha0 - yj - alphaW));
  const variance = 1 / (yi + alphaW) + 1 / (yj + alphaW);
  return { delta, z: delta / Math.sqrt(variance) };
}

function countTerms(comments: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const comment of comments) for (const term of commentTerms(comment)) counts.set(term, (counts.get(term) ?? 0) + 1);
  return counts;
}

/** Per variant (in the order given), the terms its comments use more than the others', by z-score. */
export function computeThemes(commentsByVariant: ReadonlyMap<string, readonly string[]>, options: ThemeOptions = {}): VariantThemes[] {
  const top = options.top ?? 10;
  const minCount = options.minCount ?? 2;
  const groups = [...commentsByVariant.entries()].map(([variant, comments]) => {
    const counts = countTerms(comments);
    let total = 0;
    for (const count of counts.values()) total += count;
    return { variant, comments: comments.length, counts, total };
  });
  const pooled = new Map<string, number>();
  let n = 0;
  for (const group of groups) {
    for (const [term, count] of group.counts) pooled.set(term, (pooled.get(term) ?? 0) + count);
    n += group.total;
  }
  const alpha0 = options.priorWeight ?? n;
  return groups.map((group) => {
    const terms: ThemeTerm[] = [];
    if (groups.length >= 2 && n > 0) {
      const nj = n - group.total;
      for (const [term, yi] of group.counts) {
        const y = pooled.get(term)!;
        if (y < minCount) continue;
        const yj = y - yi;
        const alphaW = (alpha0 * y) / n;
        const { delta, z } = weightedLogOdds(yi, group.total, yj, nj, alphaW, alpha0);
        if (z > 0) terms.push({ term, z, logOddsRatio: delta, count: yi, otherCount: yj });
      }
    }
    terms.sort((a, b) => b.z - a.z || a.term.localeCompare(b.term));
    return { variant: group.variant, comments: group.comments, terms: terms.slice(0, top) };
  });
}
