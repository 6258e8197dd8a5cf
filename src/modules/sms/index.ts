export { smsRouter } from './sms.router';
export { smsService, configureSms, sharedSmsTransport, closeSharedSmsTransport, phoneKeyOf, type SmsMessageFacts } from './sms.service';
export { createSmsTransport, SmsSendError, type SmsSettings, type SmsTransport, type SmsTransportOptions, type SmsToSend, type SmsSent, type InboundSms } from './sms.transport';
export { DEFAULT_OPT_OUT_KEYWORDS, parseOptOutKeywords } from '../../lib/sms-opt-out';
