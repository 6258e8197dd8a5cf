import assert from 'node:assert/strict';
import { first, parseArf, signedLinkTokens } from '../../../src/modules/feedback/arf.parser';

// The example of RFC 5965, Appendix B.2 (line breaks as sent, CRLF), with a List-Unsubscribe header added.
const RFC_EXAMPLE = [
  'From: <abusedesk@example.com>',
  'Date: Thu, 8 Mar 2005 17:40:36 EDT',
  'Subject: FW: Earn money',
  'To: <abuse@example.net>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/report; report-type=feedback-report;',
  '     boundary="part1_13d.2e68ed54_boundary"',
  '',
  '--part1_13d.2e68ed54_boundary',
  'Content-Type: text/plain; charset="US-ASCII"',
  'Content-Transfer-Encoding: 7bit',
  '',
  'This is an email abuse report for an email message received from IP',
  '192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.  For more information',
  'about this format please see http://www.mipassoc.org/arf/.',
  '',
  '--part1_13d.2e68ed54_boundary',
  'Content-Type: message/feedback-report',
  '',
  'Feedback-Type: abuse',
  'User-Agent: SomeGenerator/1.0',
  'Version: 1',
  'Original-Mail-From: <somespammer@example.net>',
  'Original-Rcpt-To: <user@example.com>',
  'Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT',
  'Reporting-MTA: dns; mail.example.com',
  'Source-IP: 192.0.2.1',
  'Authentication-Results: mail.example.com;',
  '               spf=fail smtp.mail=somespammer@example.com',
  'Reported-Domain: example.net',
  'Reported-Uri: http://example.net/earn_money.html',
  'Reported-Uri: mailto:user@example.com',
  'Removal-Recipient: user@example.com',
  '',
  '--part1_13d.2e68ed54_boundary',
  'Content-Type: message/rfc822',
  'Content-Disposition: inline',
  '',
  'From: <somespammer@example.net>',
  'Received: from mailserver.example.net (mailserver.example.net',
  '        [192.0.2.1]) by example.com with ESMTP id M63d4137594e46;',
  '        Thu, 08 Mar 2005 14:00:00 -0400',
  'To: <Undisclosed Recipients>',
  'Subject: Earn money',
  'MIME-Version: 1.0',
  'Content-type: text/plain',
  'Message-ID: 8787KJKJ3K4J3K4J3K4J3.mail@example.net',
  'List-Unsubscribe: <https://verdict.test/u/eyJhIjoxfQ.AAAAAAAAAAAAAAAAAAAAAA>',
  'Date: Thu, 02 Sep 2004 12:31:03 -0500',
  '',
  'Spam Spam Spam',
  'Spam Spam Spam',
  '--part1_13d.2e68ed54_boundary--',
  '',
].join('\r\n');

describe('ARF report parser (pure)', () => {
  it('when given the RFC 5965 example, then it reads the feedback type, the reporter, the recipient and the original headers', () => {
    const report = parseArf(RFC_EXAMPLE);
    assert.ok(!('problem' in report));
    assert.equal(report.feedbackType, 'abuse');
    assert.equal(report.userAgent, 'SomeGenerator/1.0');
    assert.equal(report.originalRcptTo, '<user@example.com>');
    assert.equal(first(report.original, 'message-id'), '8787KJKJ3K4J3K4J3K4J3.mail@example.net');
    assert.equal(first(report.original, 'subject'), 'Earn money');
    assert.match(report.originalBody, /^Spam Spam Spam/);
    assert.deepEqual(signedLinkTokens(report), ['eyJhIjoxfQ.AAAAAAAAAAAAAAAAAAAAAA']);
  });

  it('when the feedback report part is base64-encoded, then it is decoded', () => {
    const encoded = RFC_EXAMPLE.replace(
      'Content-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n',
      `Content-Type: message/feedback-report\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from('Feedback-Type: fraud\r\nVersion: 1\r\n').toString('base64')}\r\n\r\nX-Ignored: abuse\r\n`,
    );
    const report = parseArf(encoded);
    assert.ok(!('problem' in report));
    assert.equal(report.feedbackType, 'fraud');
  });

  it('when the text is not a report, then it says what is missing', () => {
    const report = parseArf('Subject: hi\r\n\r\nhello\r\n');
    assert.ok('problem' in report);
    assert.match(report.problem, /no message\/feedback-report part/);
  });
});
