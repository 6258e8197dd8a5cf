import assert from 'node:assert/strict';
import { normalizeKeyword, optOutKeywordOf, optOutLine, parseOptOutKeywords } from '../../../src/lib/sms-opt-out';

describe('SMS opt-out keywords', () => {
  const keywords = parseOptOutKeywords('en:STOP|UNSUBSCRIBE,fa:لغو|توقف,ar:إلغاء')!;

  it('when a configuration is malformed, then it is refused', () => {
    assert.equal(parseOptOutKeywords(''), null);
    assert.equal(parseOptOutKeywords('STOP'), null);
    assert.equal(parseOptOutKeywords('en:'), null);
    assert.deepEqual(keywords, { en: ['STOP', 'UNSUBSCRIBE'], fa: ['لغو', 'توقف'], ar: ['إلغاء'] });
  });

  it('when an inbound text starts with a keyword in any case or letter variant, then it opts out; other texts do not', () => {
    assert.equal(optOutKeywordOf('stop', keywords), 'STOP');
    assert.equal(optOutKeywordOf('  Stop please', keywords), 'STOP');
    assert.equal(optOutKeywordOf('لغو', keywords), 'لغو');
    // Arabic alef with hamza written plain, a ZWNJ and a tatweel: the same word.
    assert.equal(optOutKeywordOf('الغاء', keywords), 'إلغاء');
    assert.equal(optOutKeywordOf('تو\u200cقـف', keywords), 'توقف');
    assert.equal(optOutKeywordOf('Thanks, it was great', keywords), null);
    assert.equal(optOutKeywordOf('non-stop service', keywords), null);
    assert.equal(normalizeKeyword('ي ك ۱۲'), 'ی ک 12');
  });

  it('when a message ends with the opt-out line, then it is in the recipient language with its first keyword, else English', () => {
    assert.equal(optOutLine('en', keywords), 'Reply STOP to opt out');
    assert.equal(optOutLine('fa-IR', keywords), 'لغو: ارسال لغو');
    assert.equal(optOutLine('ar', keywords), 'لإلغاء الاشتراك أرسل إلغاء');
    assert.equal(optOutLine('de', keywords), 'Reply STOP to opt out');
    assert.equal(optOutLine('fa', parseOptOutKeywords('en:STOP')!), 'Reply STOP to opt out');
  });
});
