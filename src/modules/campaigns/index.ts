export { campaignsRouter, campaignAudienceRouter } from './campaigns.router';
export { campaignMessageLookup, campaignsService, findSentMessage, type CampaignPhase, type SentMessage } from './campaigns.service';
export { SendWorker, wakeSendWorkers, LANES_PER_CONNECTION, type SendWorkerOptions } from './send.worker';
export { campaignScheduleDuty } from './campaigns.scheduler';
export { configureMail, createMailTransport, sharedMailTransport, closeSharedMailTransport, classifySmtpError, type MailSettings, type MailTransport, type MailTransportOptions } from './mail.transport';
export type { CampaignRecord, MessageRecord, DeliveryRecord } from './campaigns.model';
