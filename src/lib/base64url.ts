// Strict base64url for signed values. Pure: no I/O.
//
// Node's decoder is lenient: it accepts '+' and '/' for '-' and '_', '=' padding, and every spelling of
// a last character whose low bits are unused (a 16-byte MAC in 22 characters has 16 spellings of its
// last one). A signed token must have one spelling only, so the decoded bytes are accepted only when
// encoding them again gives back exactly the text (RFC 4648 §5, unpadded, the unused bits zero).

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/** The bytes of `text` when it is canonical unpadded base64url; undefined for any other spelling. */
export function decodeBase64urlStrict(text: string): Buffer | undefined {
  if (typeof text !== 'string' || !ALPHABET.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  // Compares public text (the token as given), not a secret: no need for constant time here.
  return bytes.toString('base64url') === text ? bytes : undefined;
}
