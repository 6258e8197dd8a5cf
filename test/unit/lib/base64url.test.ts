import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { decodeBase64urlStrict } from '../../../src/lib/base64url';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('strict base64url', () => {
  it('when the text is canonical unpadded base64url, then it decodes to the bytes it was made from', () => {
    for (let length = 0; length <= 40; length++) {
      const bytes = randomBytes(length);
      assert.deepEqual(decodeBase64urlStrict(bytes.toString('base64url')), bytes, `${length} bytes`);
    }
  });

  it('when the last character has unused bits set, then it is refused although Node decodes it to the same bytes', () => {
    // 1, 2 and 16 bytes: 4, 2 and 4 unused bits in the last character (15, 3 and 15 other spellings).
    for (const [length, others] of [[1, 15], [2, 3], [16, 15]] as const) {
      const bytes = randomBytes(length);
      const text = bytes.toString('base64url');
      // eslint-disable-next-line @typescript-eslint/no-misused-spread -- the base64url alphabet is ASCII: one character a code unit
    const lenient = [...BASE64URL].filter((c) => c !== text.at(-1) && Buffer.from(`${text.slice(0, -1)}${c}`, 'base64url').equals(bytes));
      assert.equal(lenient.length, others, `${length} bytes`);
      for (const c of lenient) assert.equal(decodeBase64urlStrict(`${text.slice(0, -1)}${c}`), undefined, `${text} ending in ${c}`);
    }
  });

  it('when the text uses + or /, padding, or characters outside the alphabet, then it is refused', () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xbf, 0x3e]); // "-_-_Pg" in base64url, "+/+/Pg==" in base64
    assert.equal(bytes.toString('base64url'), '-_-_Pg');
    assert.deepEqual(decodeBase64urlStrict('-_-_Pg'), bytes);
    for (const bad of ['+/+/Pg', '+_-_Pg', '-/-_Pg', '-_-_Pg==', '-_-_Pg=', '+/+/Pg==', ' -_-_Pg', '-_-_Pg\n', '-_-_P', '-_.-_Pg', 'A']) {
      assert.equal(decodeBase64urlStrict(bad), undefined, JSON.stringify(bad));
    }
  });
});
