import assert from 'node:assert/strict';
import { countSmsSegments, smsEncodingOf } from '../../../src/lib/sms-segments';

describe('SMS segments', () => {
  it('when a text is plain GSM-7, then 160 characters fit one segment and 161 need two of 153', () => {
    assert.deepEqual(countSmsSegments('a'.repeat(160)), { encoding: 'GSM-7', units: 160, segments: 1 });
    assert.deepEqual(countSmsSegments('a'.repeat(161)), { encoding: 'GSM-7', units: 161, segments: 2 });
    assert.deepEqual(countSmsSegments('a'.repeat(306)), { encoding: 'GSM-7', units: 306, segments: 2 });
    assert.deepEqual(countSmsSegments('a'.repeat(307)), { encoding: 'GSM-7', units: 307, segments: 3 });
  });

  it('when a GSM-7 text has extension characters, then each counts 2 and is never split across segments', () => {
    assert.deepEqual(countSmsSegments('Price: 5€ [promo] {x} ~ ^ | \\'), { encoding: 'GSM-7', units: 38, segments: 1 });
    assert.equal(countSmsSegments('€'.repeat(80)).segments, 1);
    assert.deepEqual(countSmsSegments('€'.repeat(81)), { encoding: 'GSM-7', units: 162, segments: 2 });
    // 152 plain characters, then a euro sign that would straddle the first segment's end: it moves to the second.
    assert.equal(countSmsSegments(`${'a'.repeat(152)}€${'a'.repeat(152)}`).segments, 3);
    assert.equal(countSmsSegments(`${'a'.repeat(151)}€${'a'.repeat(153)}`).segments, 2);
  });

  it('when the GSM alphabet has an accented letter (é, ñ, ü), then it stays GSM-7; when a letter is outside it (ç lowercase, ł), then UCS-2', () => {
    assert.equal(smsEncodingOf('Café niño über Ça'), 'GSM-7');
    assert.equal(smsEncodingOf('façade'), 'UCS-2');
    assert.equal(smsEncodingOf('Łódź'), 'UCS-2');
  });

  it('when a text is Persian or Arabic, then it is UCS-2: 70 in one segment, 67 a segment beyond', () => {
    const persian = 'سلام رضا، از خرید شما متشکریم. لطفاً به ما بگویید چقدر راضی بودید';
    const counted = countSmsSegments(persian);
    assert.equal(counted.encoding, 'UCS-2');
    assert.equal(counted.units, persian.length);
    assert.equal(counted.segments, 1);
    assert.deepEqual(countSmsSegments('ب'.repeat(70)), { encoding: 'UCS-2', units: 70, segments: 1 });
    assert.deepEqual(countSmsSegments('ب'.repeat(71)), { encoding: 'UCS-2', units: 71, segments: 2 });
    assert.deepEqual(countSmsSegments('شكراً لك'.repeat(17)), { encoding: 'UCS-2', units: 136, segments: 3 });
    // One Persian letter makes the whole text UCS-2, so a 100-character Latin text costs two segments.
    assert.equal(countSmsSegments(`${'a'.repeat(99)}ی`).segments, 2);
  });

  it('when a text has emoji, then each counts as its two UTF-16 units and a pair is not split', () => {
    assert.deepEqual(countSmsSegments('👍'.repeat(35)), { encoding: 'UCS-2', units: 70, segments: 1 });
    assert.equal(countSmsSegments(`${'a'.repeat(66)}👍${'a'.repeat(66)}`).segments, 3);
  });
});
