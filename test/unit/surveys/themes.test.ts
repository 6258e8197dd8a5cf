import assert from 'node:assert/strict';
import { commentTerms, commentWords, normalizeText } from '../../../src/modules/surveys/comment-terms';
import { computeThemes, weightedLogOdds } from '../../../src/modules/surveys/themes';

/** `times` copies of each comment. */
const repeat = (times: number, ...comments: string[]) => Array.from({ length: times }, () => comments).flat();

describe('comment terms', () => {
  it('when a comment is English, then it gives lower-case words without stop words or numbers, and adjacent pairs', () => {
    assert.deepEqual(commentWords('The delivery was SLOW, 3 days!'), ['delivery', 'slow', 'days']);
    assert.deepEqual(commentTerms('Delivery was slow'), ['delivery', 'slow', 'delivery slow']);
  });

  it('when Persian or Arabic letters come in their variants, then they are one spelling', () => {
    // Arabic yeh and kaf, a kasra and a tatweel, against the Persian letters.
    assert.equal(normalizeText('كيفيت'), normalizeText('کیفیت'));
    assert.equal(normalizeText('عالـــي'), 'عالی');
    assert.equal(normalizeText('شُكرًا'), 'شکرا');
    assert.equal(normalizeText('أحسنت'), normalizeText('احسنت'));
  });

  it('when a Persian word is written with or without the zero-width non-joiner, then it is one word', () => {
    assert.deepEqual(commentWords('می‌خواهم'), commentWords('میخواهم'));
    assert.deepEqual(commentWords('می‌خواهم'), ['میخواهم']);
  });

  it('when a Persian or Arabic comment holds stop words, then they are left out', () => {
    assert.deepEqual(commentWords('ارسال خیلی کند بود'), ['ارسال', 'کند']);
    assert.deepEqual(commentWords('التوصيل كان بطيئا جدا'), ['التوصیل', 'بطیئا']);
  });
});

describe('themes (weighted log-odds with an informative Dirichlet prior)', () => {
  it('when computed by hand from the formula of Monroe, Colaresi and Quinn, then the z-score is the same', () => {
    // y_i = 10 of n_i = 20, y_j = 2 of n_j = 30, α_w = 4, α_0 = 10:
    // δ = ln(14 / (20 + 10 − 10 − 4)) − ln(6 / (30 + 10 − 2 − 4)) = ln(14/16) − ln(6/34) = −0.13353 + 1.73460 = 1.60107
    // σ² = 1/14 + 1/6 = 0.238095, σ = 0.48795, z = δ / σ = 3.28122
    const { delta, z } = weightedLogOdds(10, 20, 2, 30, 4, 10);
    assert.ok(Math.abs(delta - (Math.log(14 / 16) - Math.log(6 / 34))) < 1e-12);
    assert.ok(Math.abs(delta - 1.60107) < 1e-4, String(delta));
    assert.ok(Math.abs(z - 3.28122) < 1e-4, String(z));
  });

  it('when the prior is the pooled counts, then computeThemes gives the z-score of the formula for each term', () => {
    const themes = computeThemes(new Map([['a', ['slow slow slow fast']], ['b', ['fast fast slow']]]), { minCount: 1 });
    // Terms: a has slow×3, fast×1, "slow slow"×2, "slow fast"×1 (7); b has fast×2, slow×1, "fast fast", "fast slow" (5).
    const slow = themes[0].terms.find((t) => t.term === 'slow')!;
    const n = 12;
    const expected = weightedLogOdds(3, 7, 1, 5, (n * 4) / n, n);
    assert.equal(slow.count, 3);
    assert.equal(slow.otherCount, 1);
    assert.ok(Math.abs(slow.z - expected.z) < 1e-12);
  });

  it('when one variant\'s English comments talk about slow delivery and the other\'s about friendly staff, then each lists its own theme first', () => {
    const themes = computeThemes(
      new Map([
        ['control', [...repeat(12, 'Delivery was slow and late', 'The box arrived late'), ...repeat(5, 'Good price')]],
        ['friendly', [...repeat(12, 'The staff were friendly and helpful'), ...repeat(5, 'Good price', 'Delivery on time')]],
      ]),
    );
    const control = themes.find((t) => t.variant === 'control')!;
    const friendly = themes.find((t) => t.variant === 'friendly')!;
    assert.equal(control.comments, 29);
    assert.ok(['late', 'slow'].includes(control.terms[0].term), control.terms[0].term);
    assert.ok(control.terms.some((t) => t.term === 'delivery slow'));
    assert.ok(['friendly', 'staff', 'helpful', 'staff friendly', 'friendly helpful'].includes(friendly.terms[0].term), friendly.terms[0].term);
    assert.ok(friendly.terms[0].z > 1.96);
    // Said as often by both: no theme of either (a z-score near 0 where it is listed at all).
    for (const t of [control, friendly]) assert.ok(t.terms.filter((term) => term.term === 'good price' || term.term === 'price').every((term) => term.z < 1));
    // Sorted by z, most over-represented first.
    for (let i = 1; i < control.terms.length; i++) assert.ok(control.terms[i - 1].z >= control.terms[i].z);
  });

  it('when the planted difference is in Persian and Arabic comments with mixed letter variants, then it is found under one spelling', () => {
    const themes = computeThemes(
      new Map([
        // "The courier was polite" (Persian, with Arabic yeh/kaf in half of them) and "thank you" in Arabic.
        ['control', [...repeat(8, 'پیک مؤدب بود'), ...repeat(8, 'پيك مؤدب بود'), ...repeat(6, 'شكرًا جزيلاً')]],
        // "Support did not answer" (Persian), and the same thanks.
        ['rapid', [...repeat(15, 'پشتیبانی جواب نداد'), ...repeat(6, 'شکرا جزیلا')]],
      ]),
    );
    const control = themes.find((t) => t.variant === 'control')!;
    const rapid = themes.find((t) => t.variant === 'rapid')!;
    const courier = control.terms.find((t) => t.term === 'پیک')!;
    assert.equal(courier.count, 16);
    assert.ok(courier.z > 1.96);
    assert.ok(control.terms.some((t) => t.term === 'پیک مؤدب'));
    assert.ok(rapid.terms.some((t) => t.term === 'پشتیبانی' && t.z > 1.96));
    // The Arabic thanks, written both ways by both variants, is one term and nobody's theme.
    for (const t of [control, rapid]) assert.ok(t.terms.filter((term) => term.term === 'شکرا').every((term) => term.count === 6 && term.z < 1));
  });

  it('when there is one variant or no comment, then no terms are listed', () => {
    assert.deepEqual(computeThemes(new Map([['a', ['slow slow']]]))[0].terms, []);
    assert.deepEqual(computeThemes(new Map([['a', []], ['b', []]])).map((t) => t.terms), [[], []]);
  });
});
